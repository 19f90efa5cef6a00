/**
 * Where sessions live: with the users, so that a session lasts as long as
 * what it names — the web node's SQLite file (shared by the web processes
 * using that file), or the PostgreSQL directory shared by web nodes (a
 * session made on one is accepted by every other). Never only in Redis: a
 * Redis restart without persistence would sign every operator out in the
 * middle of an incident. A session names its user, whose role and state are
 * read on each request.
 */
import type { AuthStore } from './store.js';

export interface StoredSession {
  user: string;
  csrf: string;
  createdAt: number;
  lastSeen: number;
}

export interface SessionStore {
  /** Returns the session id (for the cookie) and its CSRF token; only a digest of the id is kept. */
  create(user: string, now: number): Promise<{ id: string; csrf: string }>;
  get(id: string): Promise<StoredSession | undefined>;
  touch(id: string, now: number): Promise<void>;
  end(id: string): Promise<void>;
  /** Ends every session of a user (role or password changed, user disabled). */
  endAllOf(user: string): Promise<void>;
  /** Deletes the sessions idle since before `idleBefore` or made before `createdBefore`; returns how many. */
  prune(idleBefore: number, createdBefore: number): Promise<number>;
}

/** Sessions in the web node's own SQLite file (src/auth/store.ts). */
export function sqliteSessions(store: AuthStore): SessionStore {
  return {
    create: async (user, now) => store.createSession(user, now),
    get: async (id) => store.session(id),
    touch: async (id, now) => store.touchSession(id, now),
    end: async (id) => store.endSession(id),
    endAllOf: async (user) => store.endSessionsOf(user),
    prune: async (idleBefore, createdBefore) => store.pruneSessions(idleBefore, createdBefore),
  };
}
