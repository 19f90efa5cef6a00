/**
 * Who this browser is to the server: a signed-in user (with the CSRF token
 * every state-changing request must carry), a guest allowed to view without
 * signing in, or nobody yet. The server decides everything; this only keeps
 * the answer so the screens can say what the user may do, and why not.
 */
import { type Signal, signal } from '@preact/signals';
import type { ApiError } from '../../../src/web/protocol.js';
import { msg } from '../i18n/locale.js';

export type Role = 'viewer' | 'operator' | 'engineer' | 'admin';

export interface Session {
  user: string;
  role: Role;
  /** How the server knows this browser: a signed-in session, or a guest (viewing only). */
  via: 'session' | 'token' | 'anonymous';
  csrf?: string;
  /** False on a fresh installation: nobody can sign in until an admin is created. */
  usersExist: boolean;
  /** Whether critical commands ask for the password again. */
  reauth?: boolean;
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, engineer: 2, admin: 3 };

export const atLeast = (s: Session | null, role: string): boolean => s !== null && s.via === 'session' && RANK[s.role] >= (RANK[role as Role] ?? Infinity);

/** This browser's session; null until asked, or when the server wants a sign-in before anything. */
export const session: Signal<Session | null> = signal(null);

/** Why a sign-in is asked for now (a session that ran out), shown above the screens; null otherwise. */
export const signInNeeded: Signal<string | null> = signal(null);

/** Why this user may not do something that needs `role`, in words; null when they may. */
export function roleRefusal(s: Session | null, role: string, what = msg().roles.sendCommands): string | null {
  if (atLeast(s, role)) return null;
  const t = msg().roles;
  const name = (r: string): string => t.name[r] ?? r;
  if (!s || s.via !== 'session') return t.signInAs(name(role), what);
  return t.onlyRole(s.user, name(s.role), name(role), what);
}

/** The headers a state-changing request carries. */
export function csrfHeaders(): Record<string, string> {
  const csrf = session.value?.csrf;
  return csrf ? { 'x-csrf-token': csrf } : {};
}

export type SessionAnswer = { kind: 'ok'; session: Session } | { kind: 'sign-in'; usersExist: boolean | undefined };

/** Asks the server who this browser is. Throws when the server does not answer (the caller retries). */
export async function loadSession(): Promise<SessionAnswer> {
  const res = await fetch('api/session', { headers: { Accept: 'application/json' }, cache: 'no-store', credentials: 'same-origin' });
  if (res.status === 401) {
    session.value = null;
    const body = (await res.json().catch(() => ({}))) as { usersExist?: unknown };
    return { kind: 'sign-in', usersExist: typeof body.usersExist === 'boolean' ? body.usersExist : undefined };
  }
  if (!res.ok) throw new Error(`the server answered ${res.status} ${res.statusText}`);
  const s = (await res.json()) as Session;
  session.value = s;
  return { kind: 'ok', session: s };
}

export type SignInResult = { ok: true } | { ok: false; code: string; message: string };

export async function signIn(user: string, password: string): Promise<SignInResult> {
  let res: Response;
  try {
    res = await fetch('api/login', {
      method: 'POST',
      cache: 'no-store',
      credentials: 'same-origin',
      headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: JSON.stringify({ user, password }),
    });
  } catch {
    return { ok: false, code: 'PLANTA_NO_ANSWER', message: 'The server does not answer: check the network and try again.' };
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => undefined)) as Partial<ApiError> | undefined;
    return { ok: false, code: body?.error?.code ?? 'PLANTA_HTTP_STATUS', message: signInRefusal(body?.error?.code, body?.error?.message, res.status) };
  }
  signInNeeded.value = null;
  await loadSession();
  return { ok: true };
}

function signInRefusal(code: string | undefined, message: string | undefined, status: number): string {
  if (code === 'PLANTA_AUTH_FAILED') return 'Wrong user name or password.';
  if (code === 'PLANTA_AUTH_LOCKED') return `Too many failed sign-ins: ${message?.replace(/^too many failed sign-ins: /, '') ?? 'try again later'}.`;
  return message ? `${message} [${code}]` : `The server answered ${status}.`;
}

/** Signs out; afterwards this browser is a guest, or asked to sign in when guests may not view. */
export async function signOut(): Promise<void> {
  await fetch('api/logout', { method: 'POST', cache: 'no-store', credentials: 'same-origin', headers: { Accept: 'application/json', ...csrfHeaders() } }).catch(() => undefined);
  await loadSession().catch(() => undefined);
}

/** A request was refused because the session ran out (or never was): find out who we are now, and ask to sign in. */
export function sessionLost(message: string): void {
  signInNeeded.value = message;
  void loadSession().catch(() => undefined);
}
