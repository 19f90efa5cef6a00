/**
 * Who may reach which route, decided on the route that matched, never on the
 * URL as sent. Every route declares its access in its options,
 *
 *   app.get('/api/tags', { config: { access: 'viewer' } }, handler)
 *
 * and a route that declares none (a plugin's route too) is refused. Before
 * that, a request whose target is not a path in normal form is refused with
 * 400: the router decodes the path, static files decode it again, and none
 * of them may see another route or file than the one the decision was about.
 *
 *   public     anyone, without credentials (health, sign-in, the HMI's files)
 *   viewer     whoever may view: a session of any role, an API token, or
 *              anonymous viewing where security.anonymous allows it
 *   token      a session of any role or an API token; anonymous viewing is not enough
 *   user       a session (a signed-in user) of any role; the handler decides the role
 *              its action needs (a command's role, the alarm engine's rules)
 *   operator, engineer, admin   a session whose role is at least this
 *
 * Whatever the level, a state-changing method (anything but GET, HEAD and
 * OPTIONS) on a route that is not public needs a session and its CSRF token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { ROLES, type Role } from '../config/schema.js';
import { PlantaError } from '../errors.js';
import type { Logger } from '../util/log.js';
import type { RequestIdentity } from './auth.js';

export const ACCESS_LEVELS = ['public', 'viewer', 'token', 'user', 'operator', 'engineer', 'admin'] as const;
export type Access = (typeof ACCESS_LEVELS)[number];

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may use this route (src/web/access.ts); a route without it is refused. */
    access?: Access;
  }
}

/** One registered route and the access it declares (undefined: none, refused). */
export interface RouteAccess {
  method: string;
  url: string;
  access: Access | undefined;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const isAccess = (v: unknown): v is Access => (ACCESS_LEVELS as readonly unknown[]).includes(v);

const needs: Record<Exclude<Access, 'public'>, string> = {
  viewer: 'a viewer',
  token: 'a signed-in user or an API token',
  user: 'a signed-in user',
  operator: 'an operator',
  engineer: 'an engineer',
  admin: 'an admin',
};

function allows(access: Access, id: RequestIdentity | undefined): boolean {
  switch (access) {
    case 'public':
      return true;
    case 'viewer':
      return id !== undefined;
    case 'token':
      return id?.via === 'session' || id?.via === 'token';
    case 'user':
      return id?.via === 'session';
    default:
      return id?.via === 'session' && ROLES.indexOf(id.role) >= ROLES.indexOf(access satisfies Role);
  }
}

function refusal(access: Exclude<Access, 'public'>, id: RequestIdentity | undefined, safe: boolean): PlantaError {
  if (!id || id.via === 'anonymous') return new PlantaError('PLANTA_AUTH_REQUIRED', safe ? 'sign in first' : 'sign in to act');
  if (id.via === 'token') {
    return safe ? new PlantaError('PLANTA_AUTH_FORBIDDEN', `an API token may not read this: it needs ${needs[access]}`) : new PlantaError('PLANTA_AUTH_READ_ONLY', 'API tokens are read-only');
  }
  return new PlantaError('PLANTA_AUTH_FORBIDDEN', `${id.user} (${id.role}) may not do this: it needs ${needs[access]}`);
}

const UNRESERVED = /^[A-Za-z0-9._~-]$/;
const PATH_CHAR = /^[A-Za-z0-9._~!$&'()*+,;=:@/-]$/;

/**
 * Why a request target is not a path in normal form, or undefined when it
 * is: origin-form (starts with "/"), no empty segment ("//"), no dot segment
 * ("." or ".."), only the characters RFC 3986 allows in a path, and
 * percent-encoding only of what must be encoded — never of a letter, digit,
 * "-", ".", "_", "~" (those have one spelling), nor of "/", "\" or a control
 * character. The query is left to the routes.
 */
export function targetProblem(target: string): string | undefined {
  if (!target.startsWith('/')) return 'the target must be a path starting with "/" (absolute-form is for proxies)';
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  if (path.includes('//')) return 'the path has an empty segment ("//")';
  if (path.split('/').some((s) => s === '.' || s === '..')) return 'the path has a dot segment ("." or "..")';
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c !== '%') {
      if (!PATH_CHAR.test(c)) return `the path has a character that must be percent-encoded (${JSON.stringify(c)})`;
      continue;
    }
    const hex = path.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return 'the path has a malformed percent-encoding';
    const byte = parseInt(hex, 16);
    const ch = String.fromCharCode(byte);
    if (UNRESERVED.test(ch) || ch === '/' || ch === '\\' || byte < 0x20 || byte === 0x7f) return `the path percent-encodes %${hex}, which has a plain spelling or is not allowed in a path`;
    i += 2;
  }
  return undefined;
}

export interface GateOptions {
  /** Who makes a request: a session, an API token, anonymous viewing, or nobody. */
  resolve(req: FastifyRequest): Promise<RequestIdentity | undefined>;
  /** Whether sessions carry a CSRF token that state-changing requests must repeat (false only where tests name their user). */
  csrf: boolean;
  log?: Logger;
}

/**
 * Installs the gate on `app` (before any route is registered): every route
 * registered afterwards, in any plugin, is recorded, and every request is
 * decided on the route that matched. Returns the table of routes and their
 * access (read once the server is ready: a plugin may declare its routes'
 * access in its own onRoute hook, after this one).
 */
export function installAccessGate(app: FastifyInstance, o: GateOptions): () => RouteAccess[] {
  const declared: RouteOptions[] = [];
  app.addHook('onRoute', (r) => void declared.push(r));
  const table = (): RouteAccess[] =>
    declared.flatMap((r) => [r.method].flat().map((method) => ({ method, url: r.url, access: isAccess(r.config?.access) ? r.config.access : undefined })));
  app.addHook('onReady', async () => {
    for (const r of table()) if (!r.access) o.log?.error(r, 'this route declares no access: every request to it is refused');
  });

  app.addHook('onRequest', async (req) => {
    const problem = targetProblem(req.raw.url ?? '');
    if (problem) throw new PlantaError('PLANTA_HTTP_BAD_PATH', `${problem}: send the path in its plain form`);
    const access = req.routeOptions.config.access;
    if (!isAccess(access)) throw new PlantaError('PLANTA_HTTP_ACCESS_UNDECLARED', 'this route declares no access, so nobody may use it');
    if (access === 'public') return;
    const id = await o.resolve(req);
    const safe = SAFE_METHODS.has(req.method);
    if (!allows(access, id)) throw refusal(access, id, safe);
    if (safe) return;
    if (id?.via !== 'session') throw refusal('user', id, false);
    if (o.csrf && !sameSecret(req.headers['x-csrf-token'], id.csrf)) throw new PlantaError('PLANTA_AUTH_CSRF', 'missing or wrong CSRF token (x-csrf-token)');
  });
  return table;
}

/** Compared in constant time (over digests, so a length tells nothing either): a CSRF token is a secret. */
function sameSecret(sent: string | string[] | undefined, expected: string | undefined): boolean {
  if (typeof sent !== 'string' || typeof expected !== 'string') return false;
  const digest = (x: string): Buffer => createHash('sha256').update(x).digest();
  return timingSafeEqual(digest(sent), digest(expected));
}
