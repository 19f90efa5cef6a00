/**
 * Signing in: user name and password, the server's answer in words (wrong
 * password, locked out until when). Works before the plant is loaded (when
 * guests may not view) and as a display of the HMI (#/login).
 */
import { useState } from 'preact/hooks';
import { signIn } from './session.js';
import { msg } from '../i18n/locale.js';

export function SignIn({ usersExist, reason, onSignedIn }: { usersExist: boolean | undefined; reason?: string | null; onSignedIn(): void }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setProblem(null);
    const r = await signIn(user.trim(), password);
    setBusy(false);
    setPassword('');
    if (r.ok) onSignedIn();
    else setProblem(r.message);
  };

  return (
    <main class="page signin-page" aria-labelledby="page-title">
      <section class="panel signin">
        <h1 id="page-title">{msg().session.signIn}</h1>
        {reason && (
          <p class="action-note" role="status">
            {reason}
          </p>
        )}
        {usersExist === false && (
          <div class="cmd-note" role="note">
            <p>
              <strong>{msg().session.noUserYet}</strong>
              {msg().session.createFirst}
            </p>
            <pre class="mono">npx planta user add NAME --role admin</pre>
          </div>
        )}
        <form onSubmit={(e) => void submit(e)}>
          <div class="field">
            <label for="signin-user">{msg().session.userName}</label>
            <input id="signin-user" name="username" autocomplete="username" required value={user} onInput={(e) => setUser((e.target as HTMLInputElement).value)} />
          </div>
          <div class="field">
            <label for="signin-password">{msg().session.password}</label>
            <input
              id="signin-password"
              name="password"
              type="password"
              autocomplete="current-password"
              required
              value={password}
              onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
            />
          </div>
          {problem && (
            <p class="action-note is-error" role="alert">
              <span aria-hidden="true">✕ </span>
              {problem}
            </p>
          )}
          <button type="submit" class="cmd-button cmd-confirm" disabled={busy}>
            {busy ? msg().session.signingIn : msg().session.signIn}
          </button>
        </form>
      </section>
    </main>
  );
}
