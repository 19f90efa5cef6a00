/**
 * Signing in: user name and password, the server's answer in words (wrong
 * password, locked out until when). Works before the plant is loaded (when
 * guests may not view) and as a display of the HMI (#/login).
 */
import { useState } from 'preact/hooks';
import { signIn } from './session.js';

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
        <h1 id="page-title">Sign in</h1>
        {reason && (
          <p class="action-note" role="status">
            {reason}
          </p>
        )}
        {usersExist === false && (
          <div class="cmd-note" role="note">
            <p>
              <strong>No user exists yet.</strong> Create the first administrator on the server, then sign in here:
            </p>
            <pre class="mono">npx planta user add NAME --role admin</pre>
          </div>
        )}
        <form onSubmit={(e) => void submit(e)}>
          <div class="field">
            <label for="signin-user">User name</label>
            <input id="signin-user" name="username" autocomplete="username" required value={user} onInput={(e) => setUser((e.target as HTMLInputElement).value)} />
          </div>
          <div class="field">
            <label for="signin-password">Password</label>
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
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      </section>
    </main>
  );
}
