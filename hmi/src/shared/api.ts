/** The REST calls the HMI makes (relative URLs, so the HMI also works behind a reverse proxy's sub-path). */
import type { ApiError, AuditEntry, CommandInfo, PlantInfo, ServiceNode, TagWithState, User } from '../../../src/web/protocol.js';
import { type AlarmApi, journalQueryString } from '../alarms/alarm-api.js';
import type { CommandApi } from '../commands/command-api.js';
import type { CallResult } from './call-result.js';
import { type HistoryApi, cyclesPath, historyPath } from '../trends/history-api.js';
import type { NotifyApi } from '../notify/notify-api.js';
import { type Role, csrfHeaders, sessionLost } from '../session/session.js';

export class ApiCallError extends Error {}

async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store', ...(signal ? { signal } : {}) });
  if (!res.ok) {
    if (res.status === 401) sessionLost('Your session has ended: sign in again.');
    throw new ApiCallError(await errorMessage(res));
  }
  return (await res.json()) as T;
}

async function errorMessage(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as ApiError;
    return `${body.error.message} [${body.error.code}]`;
  } catch {
    return `the server answered ${res.status} ${res.statusText}`;
  }
}

export const fetchPlant = (signal?: AbortSignal): Promise<PlantInfo> => getJson<PlantInfo>('api/plant', signal);

export const fetchTags = (signal?: AbortSignal): Promise<TagWithState[]> => getJson<TagWithState[]>('api/tags', signal);

/** The Redis and PostgreSQL servers the web node uses, and when each last moved (a failover). */
export const fetchSystemNodes = (signal?: AbortSignal): Promise<ServiceNode[]> => getJson<ServiceNode[]>('api/system/nodes', signal);
/** The configuration's texts in the other language (Spanish), for a page in that language. */
export const fetchTexts = (signal?: AbortSignal): Promise<Record<string, unknown>> => getJson<Record<string, unknown>>('api/plant/texts', signal);

export async function fetchDrawing(page: string, signal?: AbortSignal): Promise<string> {
  const res = await fetch(`api/drawings/${encodeURIComponent(page)}`, { cache: 'no-store', ...(signal ? { signal } : {}) });
  if (!res.ok) throw new ApiCallError(await errorMessage(res));
  return res.text();
}

// ------------------------------------------------------------------ commands

export const fetchCommands = (signal?: AbortSignal): Promise<CommandInfo[]> => getJson<CommandInfo[]>('api/commands', signal);

/** One request, exactly once: a command call is never retried here (nor anywhere). */
async function call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, payload?: unknown): Promise<CallResult<T>> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      cache: 'no-store',
      credentials: 'same-origin',
      headers: {
        Accept: 'application/json',
        ...(payload === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...(method === 'GET' ? {} : csrfHeaders()),
      },
      ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
    });
  } catch (err) {
    return { kind: 'no-answer', message: err instanceof Error && err.message ? err.message : 'the connection to the server failed' };
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  if (res.ok && body !== undefined) {
    const date = Date.parse(res.headers.get('Date') ?? '');
    return { kind: 'ok', status: res.status, body: body as T, serverDate: Number.isFinite(date) ? date : undefined };
  }
  const error = (body as Partial<ApiError> | undefined)?.error;
  if (res.status === 401 && error?.code === 'PLANTA_AUTH_REQUIRED') sessionLost('Sign in to do this: the server asked who you are.');
  if (error && typeof error.code === 'string' && typeof error.message === 'string') return { kind: 'refused', status: res.status, error };
  return { kind: 'refused', status: res.status, error: { code: 'PLANTA_HTTP_STATUS', message: `the server answered ${res.status} ${res.statusText}`.trim() } };
}

export const commandApi: CommandApi = {
  submit: (id, command, params) => call('POST', 'api/commands', { id, command, params }),
  select: (command, params) => call('POST', 'api/commands/select', { command, params }),
  operate: (id, token, command, params, password) => call('POST', 'api/commands/operate', password === undefined ? { id, token, command, params } : { id, token, command, params, password }),
  cancel: (token) => call('DELETE', `api/commands/select/${encodeURIComponent(token)}`),
  outcome: (id) => call('GET', `api/commands/${encodeURIComponent(id)}`),
};

// ------------------------------------------------------------------ alarms and the journal

const alarmPath = (id: string, action: string): string => `api/alarms/${encodeURIComponent(id)}/${action}`;

export const alarmApi: AlarmApi = {
  ack: (ids, comment) => call('POST', 'api/alarms/ack', comment ? { ids, comment } : { ids }),
  shelve: (id, reason, minutes) => call('POST', alarmPath(id, 'shelve'), { reason, minutes }),
  unshelve: (id) => call('POST', alarmPath(id, 'unshelve'), {}),
  outOfService: (id, reason) => call('POST', alarmPath(id, 'out-of-service'), { reason }),
  inService: (id) => call('POST', alarmPath(id, 'in-service'), {}),
  journal: (q) => call('GET', `api/journal${journalQueryString(q)}`),
  rates: (from, to) => call('GET', `api/alarms/rates?from=${Math.floor(from)}&to=${Math.floor(to)}`),
};

// ------------------------------------------------------------------ users, tokens and the audit trail (admin, engineer)

export type UserRow = User;
export interface TokenRow {
  name: string;
  createdBy: string;
  createdAt: number;
  revokedAt: number | null;
}
export type AuditRow = AuditEntry;

export const adminApi = {
  users: () => call<UserRow[]>('GET', 'api/users'),
  addUser: (name: string, role: Role, password: string) => call<{ name: string; role: Role }>('POST', 'api/users', { name, role, password }),
  changeUser: (name: string, change: { role?: Role; disabled?: boolean; password?: string }) => call<UserRow>('POST', `api/users/${encodeURIComponent(name)}`, change),
  tokens: () => call<TokenRow[]>('GET', 'api/tokens'),
  addToken: (name: string) => call<{ name: string; token: string; note: string }>('POST', 'api/tokens', { name }),
  revokeToken: (name: string) => call<{ revoked: boolean }>('DELETE', `api/tokens/${encodeURIComponent(name)}`),
  audit: (q: { before?: number; search?: string; limit?: number }) => {
    const p = new URLSearchParams();
    if (q.before !== undefined) p.set('before', String(q.before));
    if (q.limit !== undefined) p.set('limit', String(q.limit));
    if (q.search) p.set('q', q.search);
    const qs = p.toString();
    return call<AuditRow[]>('GET', `api/audit${qs ? `?${qs}` : ''}`);
  },
};

// ------------------------------------------------------------------ notifications (engineer)

export const notifyApi: NotifyApi = {
  status: (q) => {
    const p = new URLSearchParams();
    if (q.limit !== undefined) p.set('limit', String(q.limit));
    if (q.before !== undefined) p.set('before', String(q.before));
    const qs = p.toString();
    return call('GET', `api/notifications${qs ? `?${qs}` : ''}`);
  },
  test: (channel) => call('POST', 'api/notifications/test', { channel }),
};

// ------------------------------------------------------------------ the historian

export const historyApi: HistoryApi = {
  history: (q) => call('GET', historyPath(q)),
  cycles: (from, to) => call('GET', cyclesPath(from, to)),
  status: () => call('GET', 'api/historian/status'),
};
