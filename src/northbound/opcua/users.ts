/**
 * OPC UA sign-in against Planta's users: the same names, passwords and
 * roles as the HMI; a disabled user cannot sign in. Failed passwords hold
 * the account back as the web's sign-in does (DEFAULT_LOCKOUT.account:
 * free failures, then a doubling wait during which even the right password
 * is refused without being checked), so OPC UA is no side door for guessing.
 */
import { DEFAULT_LOCKOUT, backoffMs } from '../../auth/attempts.js';
import type { UserDirectory } from '../../auth/directory.js';
import { verifyPassword } from '../../auth/passwords.js';
import type { UserCheck } from './server.js';

export function directoryUsers(directory: Pick<UserDirectory, 'user'>, now: () => number = Date.now): UserCheck {
  const rule = DEFAULT_LOCKOUT.account;
  const failures = new Map<string, { count: number; until: number; last: number }>();
  return async (name, password) => {
    const key = name.toLowerCase();
    const f = failures.get(key);
    if (f && now() - Math.max(f.until, f.last) > rule.windowMs) failures.delete(key);
    const held = failures.get(key);
    if (held && now() < held.until) return undefined;
    const u = await directory.user(name);
    if (!u || u.disabled || !(await verifyPassword(password, u.password))) {
      const count = (held?.count ?? 0) + 1;
      failures.set(key, { count, until: now() + backoffMs(rule, count), last: now() });
      return undefined;
    }
    failures.delete(key);
    return { user: u.name, role: u.role };
  };
}
