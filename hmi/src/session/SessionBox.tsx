/** Who is using this page, in the top bar: a guest with "Sign in", or the user and role with "Sign out". */
import { useHmi } from '../shared/context.js';
import { hrefLogin } from '../shared/router.js';
import { atLeast, session, signOut } from './session.js';
import { msg } from '../i18n/locale.js';

export function SessionBox() {
  const { router } = useHmi();
  const s = session.value;
  const here = router.route.value.kind === 'login' ? '#/' : window.location.hash || '#/';
  if (!s || s.via !== 'session') {
    return (
      <span class="session-box">
        <span class="session-who">{msg().session.guest}</span>
        <a class="cmd-button session-action" href={hrefLogin(here)}>
          {msg().session.signIn}
        </a>
      </span>
    );
  }
  return (
    <span class="session-box">
      <span class="session-who">
        <strong>{s.user}</strong> <span class="faint">{msg().roles.name[s.role] ?? s.role}</span>
      </span>
      {atLeast(s, 'engineer') && (
        <a class="session-link" href="#/audit">
          Audit
        </a>
      )}
      {atLeast(s, 'engineer') && (
        <a class="session-link" href="#/notifications">
          Notifications
        </a>
      )}
      {atLeast(s, 'admin') && (
        <a class="session-link" href="#/users">
          Users
        </a>
      )}
      <button
        type="button"
        class="cmd-button session-action"
        onClick={() =>
          void signOut().then(() => {
            // Guests may not view here: back to the sign-in page, with nothing of the plant kept in the page.
            if (!session.value) window.location.reload();
          })
        }
      >
        {msg().session.signOut}
      </button>
    </span>
  );
}
