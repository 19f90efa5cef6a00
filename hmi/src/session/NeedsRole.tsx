/**
 * The role a disabled control needs, written on the control itself, so a
 * user who may not use it sees why before clicking (the full reason is in
 * the notice the control is described by).
 */
import { msg } from '../i18n/locale.js';

export function NeedsRole({ role }: { role: string }) {
  return (
    <span class="needs-role" aria-hidden="true">
      {' '}
      ⊘ {msg().roles.name[role] ?? role}
    </span>
  );
}
