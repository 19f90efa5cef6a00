/**
 * Users and API tokens (admin): add a user, change a role, disable or enable,
 * set a new password; create a read-only token (shown once) or revoke one.
 * The server checks the role and the password rules; its refusals are shown
 * next to what was clicked.
 */
import { useEffect, useState } from 'preact/hooks';
import { type TokenRow, type UserRow, adminApi } from '../shared/api.js';
import type { CallResult } from '../shared/call-result.js';
import { useHmiState } from '../shared/context.js';
import { formatTimeZoned } from '../shared/format.js';
import { type Role, atLeast, session } from './session.js';
import { msg } from '../i18n/locale.js';

const ROLES: readonly Role[] = ['viewer', 'operator', 'engineer', 'admin'];
type Note = { ok: boolean; text: string } | null;

/** The server's answer as a note: its message (with the stable code) when refused. */
function noteOf(r: CallResult<unknown>, done: string): Note {
  if (r.kind === 'ok') return { ok: true, text: done };
  if (r.kind === 'refused') return { ok: false, text: `${r.error.message} [${r.error.code}]` };
  return { ok: false, text: msg().audit.noAnswer(r.message) };
}

function NoteLine({ note }: { note: Note }) {
  if (!note) return null;
  return (
    <p class={`action-note ${note.ok ? 'is-done' : 'is-error'}`} role={note.ok ? 'status' : 'alert'}>
      {note.ok ? '✓ ' : '✕ '}
      {note.text}
    </p>
  );
}

function RoleSelect({ id, value, onChange }: { id: string; value: Role; onChange(r: Role): void }) {
  return (
    <select id={id} value={value} onChange={(e) => onChange((e.target as HTMLSelectElement).value as Role)}>
      {ROLES.map((r) => (
        <option key={r} value={r}>
          {msg().roles.name[r] ?? r}
        </option>
      ))}
    </select>
  );
}

function UserLine({ u, reload }: { u: UserRow; reload(): void }) {
  const [role, setRole] = useState<Role>(u.role);
  const [password, setPassword] = useState('');
  const [note, setNote] = useState<Note>(null);
  const me = session.value?.user === u.name;
  const act = async (change: Parameters<typeof adminApi.changeUser>[1], done: string): Promise<void> => {
    const r = await adminApi.changeUser(u.name, change);
    setNote(noteOf(r, done));
    if (r.kind === 'ok') {
      setPassword('');
      reload();
    }
  };
  return (
    <tr data-user={u.name} class={u.disabled ? 'is-disabled' : ''}>
      <td>
        <strong>{u.name}</strong>
        {me && <span class="faint">{msg().users.you}</span>}
      </td>
      <td>
        <label class="visually-hidden" for={`role-${u.name}`}>
          {msg().users.roleOf(u.name)}
        </label>
        <RoleSelect id={`role-${u.name}`} value={role} onChange={setRole} />{' '}
        <button type="button" class="cmd-button" disabled={role === u.role} onClick={() => void act({ role }, msg().users.nowRole(u.name, msg().roles.name[role] ?? role))}>
          {msg().users.changeRole}
        </button>
      </td>
      <td>{u.disabled ? <strong>{msg().users.disabled}</strong> : msg().users.active}</td>
      <td class="user-actions">
        <button type="button" class="cmd-button" disabled={me} onClick={() => void act({ disabled: !u.disabled }, u.disabled ? msg().users.enabledNote(u.name) : msg().users.disabledNote(u.name))}>
          {u.disabled ? msg().users.enable : msg().users.disable}
        </button>
        <span class="user-password">
          <label class="visually-hidden" for={`pw-${u.name}`}>
            {msg().users.newPasswordFor(u.name)}
          </label>
          <input id={`pw-${u.name}`} type="password" autocomplete="new-password" placeholder={msg().users.newPassword} value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
          <button type="button" class="cmd-button" disabled={password === ''} onClick={() => void act({ password }, msg().users.passwordSet(u.name))}>
            {msg().users.setPassword}
          </button>
        </span>
        <NoteLine note={note} />
      </td>
    </tr>
  );
}

function AddUser({ reload }: { reload(): void }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('operator');
  const [password, setPassword] = useState('');
  const [note, setNote] = useState<Note>(null);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const r = await adminApi.addUser(name.trim(), role, password);
    setNote(noteOf(r, msg().users.added(name.trim(), msg().roles.name[role] ?? role)));
    if (r.kind === 'ok') {
      setName('');
      setPassword('');
      reload();
    }
  };
  return (
    <form class="admin-form" onSubmit={(e) => void submit(e)} aria-label={msg().users.addUserTitle}>
      <div class="field">
        <label for="new-user">{msg().users.name}</label>
        <input id="new-user" autocomplete="off" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      </div>
      <div class="field">
        <label for="new-role">{msg().users.role}</label>
        <RoleSelect id="new-role" value={role} onChange={setRole} />
      </div>
      <div class="field">
        <label for="new-password">{msg().users.passwordRule}</label>
        <input id="new-password" type="password" autocomplete="new-password" required value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
      </div>
      <button type="submit" class="cmd-button">
        {msg().users.addUser}
      </button>
      <NoteLine note={note} />
    </form>
  );
}

function Tokens({ tokens, reload }: { tokens: readonly TokenRow[]; reload(): void }) {
  const tz = useHmiState().timeZone;
  const [name, setName] = useState('');
  const [note, setNote] = useState<Note>(null);
  const [shown, setShown] = useState<{ name: string; token: string } | null>(null);
  const create = async (e: Event): Promise<void> => {
    e.preventDefault();
    const r = await adminApi.addToken(name.trim());
    setNote(noteOf(r, msg().users.tokenCreated(name.trim())));
    if (r.kind === 'ok') {
      setShown({ name: r.body.name, token: r.body.token });
      setName('');
      reload();
    }
  };
  const revoke = async (t: string): Promise<void> => {
    const r = await adminApi.revokeToken(t);
    setNote(noteOf(r, msg().users.tokenRevoked(t)));
    reload();
  };
  return (
    <section class="panel" aria-labelledby="h-tokens">
      <h2 id="h-tokens">{msg().users.tokens}</h2>
      <p class="caption">{msg().users.tokensCaption}</p>
      {tokens.length > 0 && (
        <table class="figures-table admin-table">
          <thead>
            <tr>
              <th>{msg().users.name}</th>
              <th>{msg().users.created}</th>
              <th>{msg().users.state}</th>
              <th>{msg().audit.action}</th>
            </tr>
          </thead>
          <tbody>
            {tokens.map((t) => (
              <tr key={t.name} data-token={t.name}>
                <td>{t.name}</td>
                <td>
                  {msg().users.createdBy(formatTimeZoned(t.createdAt, tz), t.createdBy)}
                </td>
                <td>{t.revokedAt ? msg().users.revokedAt(formatTimeZoned(t.revokedAt, tz)) : msg().users.active}</td>
                <td>
                  {!t.revokedAt && (
                    <button type="button" class="cmd-button" onClick={() => void revoke(t.name)}>
                      {msg().users.revoke}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form class="admin-form" onSubmit={(e) => void create(e)} aria-label={msg().users.createTokenTitle}>
        <div class="field">
          <label for="new-token">{msg().users.tokenName}</label>
          <input id="new-token" autocomplete="off" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </div>
        <button type="submit" class="cmd-button">
          {msg().users.createToken}
        </button>
      </form>
      <NoteLine note={note} />
      {shown && (
        <div class="cmd-note" role="note">
          <p>
            {msg().users.token} <strong>{shown.name}</strong>
            {msg().users.shownOnce}
          </p>
          <code class="mono token-secret">{shown.token}</code>
        </div>
      )}
    </section>
  );
}

export function Users() {
  const tz = useHmiState().timeZone;
  const [users, setUsers] = useState<UserRow[] | null>(null);
  const [tokens, setTokens] = useState<TokenRow[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [serial, setSerial] = useState(0);
  const reload = (): void => setSerial((n) => n + 1);
  const allowed = atLeast(session.value, 'admin');
  useEffect(() => {
    if (!allowed) return;
    void Promise.all([adminApi.users(), adminApi.tokens()]).then(([u, t]) => {
      if (u.kind === 'ok') setUsers(u.body);
      else setProblem(noteOf(u, '')!.text);
      if (t.kind === 'ok') setTokens(t.body);
    });
  }, [serial, allowed]);

  return (
    <main class="page admin-page" aria-labelledby="page-title">
      <h1 id="page-title">{msg().titles.users}</h1>
      {!allowed ? (
        <p class="empty">{msg().users.onlyAdmin}</p>
      ) : (
        <>
          <section class="panel" aria-labelledby="h-users">
            <h2 id="h-users">{msg().titles.users}</h2>
            {problem && (
              <p class="action-note is-error" role="alert">
                {problem}
              </p>
            )}
            {users && (
              <table class="figures-table admin-table">
                <thead>
                  <tr>
                    <th>{msg().users.user}</th>
                    <th>{msg().users.role}</th>
                    <th>{msg().users.state}</th>
                    <th>{msg().summary.colActions}</th>
                  </tr>
                </thead>
                <tbody>
                  {users.map((u) => (
                    <UserLine key={`${u.name}:${u.role}:${u.disabled}`} u={u} reload={reload} />
                  ))}
                </tbody>
              </table>
            )}
            {users && <p class="caption">{msg().users.caption(tz)}</p>}
            <h3>{msg().users.addUserTitle}</h3>
            <AddUser reload={reload} />
          </section>
          <Tokens tokens={tokens} reload={reload} />
        </>
      )}
    </main>
  );
}
