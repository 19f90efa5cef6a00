/**
 * Select before operate, as in DNP3 and IEC 61850: `select` reserves a
 * device for one user, one command and its exact values for a few seconds
 * and returns a single-use token; `operate` with that token sends it. One
 * select may be pending per device; others see who holds it.
 *
 * A reservation cannot be held forever: selecting again (or cancelling and
 * selecting again within one validity) renews it only up to `maxHoldMs`
 * after the first select; past that, the holder's selects are refused
 * (PLANTA_COMMAND_SELECT_LIMIT) for one validity, so others can have the
 * device. Operating ends the chain: the next select starts afresh.
 */
import { randomBytes } from 'node:crypto';
import { CommandRejection, type Identity } from './prepare.js';

interface Selection {
  token: string;
  user: string;
  command: string;
  /** The parameters, canonically encoded: operate must repeat them exactly. */
  params: string;
  device: string;
  expiresAt: number;
}

/** Parameters in a canonical order, so {a,b} and {b,a} compare equal. */
export function canonicalParams(params: Record<string, unknown>): string {
  return JSON.stringify(Object.keys(params).sort().map((k) => [k, params[k]]));
}

/** A user's reservations of a device one after the other: since when, and until when the last one runs. */
interface Chain {
  user: string;
  since: number;
  until: number;
}

export class SelectRegistry {
  private readonly byToken = new Map<string, Selection>();
  private readonly byDevice = new Map<string, Selection>();
  private readonly chains = new Map<string, Chain>();
  readonly maxHoldMs: number;

  constructor(
    readonly validityMs = 10_000,
    private readonly now: () => number = Date.now,
    /** The longest a user may keep a device reserved by selecting again. Default 3 × validityMs. */
    maxHoldMs?: number,
  ) {
    this.maxHoldMs = Math.max(maxHoldMs ?? 3 * validityMs, validityMs);
  }

  private sweep(): void {
    const now = this.now();
    for (const [token, s] of this.byToken) {
      if (s.expiresAt <= now) {
        this.byToken.delete(token);
        if (this.byDevice.get(s.device) === s) this.byDevice.delete(s.device);
      }
    }
  }

  /** Who holds the device, if anyone. */
  holder(device: string): { user: string; command: string; expiresAt: number } | undefined {
    this.sweep();
    const s = this.byDevice.get(device);
    return s && { user: s.user, command: s.command, expiresAt: s.expiresAt };
  }

  select(who: Identity, command: string, params: Record<string, unknown>, device: string): { token: string; expiresAt: number } {
    this.sweep();
    const held = this.byDevice.get(device);
    if (held && held.user !== who.user) {
      throw new CommandRejection(
        'PLANTA_COMMAND_DEVICE_SELECTED',
        `${device} is selected by ${held.user} for "${held.command}" until ${new Date(held.expiresAt).toISOString()}`,
        { field: 'command' },
      );
    }
    const now = this.now();
    const chain = this.chains.get(device);
    const since = chain && chain.user === who.user && now < chain.until + this.validityMs ? chain.since : now;
    const cap = since + this.maxHoldMs;
    if (now >= cap) {
      throw new CommandRejection(
        'PLANTA_COMMAND_SELECT_LIMIT',
        `${device} has been reserved by ${who.user} since ${new Date(since).toISOString()}, the longest one may hold it (${this.maxHoldMs / 1000} s): it is left to others until ${new Date(cap + this.validityMs).toISOString()}`,
        { field: 'command' },
      );
    }
    if (held) this.byToken.delete(held.token);
    const s: Selection = {
      token: randomBytes(24).toString('base64url'),
      user: who.user,
      command,
      params: canonicalParams(params),
      device,
      expiresAt: Math.min(now + this.validityMs, cap),
    };
    this.byToken.set(s.token, s);
    this.byDevice.set(device, s);
    this.chains.set(device, { user: who.user, since, until: s.expiresAt });
    return { token: s.token, expiresAt: s.expiresAt };
  }

  /** Consumes the token if it matches exactly; throws a rejection saying why otherwise. */
  operate(token: unknown, who: Identity, command: string, params: Record<string, unknown>): void {
    if (typeof token !== 'string' || token.length > 64) throw new CommandRejection('PLANTA_COMMAND_BAD_TOKEN', 'token: expected the token returned by select', { field: 'token' });
    const s = this.byToken.get(token);
    if (!s) throw new CommandRejection('PLANTA_COMMAND_BAD_TOKEN', 'token: unknown, already used, or cancelled: select again', { field: 'token', status: 409 });
    const release = (): void => {
      this.byToken.delete(token);
      if (this.byDevice.get(s.device) === s) this.byDevice.delete(s.device);
    };
    if (s.expiresAt <= this.now()) {
      release();
      throw new CommandRejection('PLANTA_COMMAND_TOKEN_EXPIRED', `token: the selection expired ${this.now() - s.expiresAt} ms ago: select again`, { field: 'token' });
    }
    if (s.user !== who.user) throw new CommandRejection('PLANTA_COMMAND_TOKEN_USER', `token: it belongs to ${s.user}`, { field: 'token' });
    if (s.command !== command || s.params !== canonicalParams(params)) {
      throw new CommandRejection('PLANTA_COMMAND_TOKEN_MISMATCH', 'token: it was selected for another command or other values: select again', { field: 'token' });
    }
    release();
    // Sent: the device's next reservation is a new deliberate one.
    if (this.chains.get(s.device)?.user === s.user) this.chains.delete(s.device);
  }

  cancel(token: string, who: Identity): boolean {
    const s = this.byToken.get(token);
    if (!s || s.user !== who.user) return false;
    this.byToken.delete(token);
    if (this.byDevice.get(s.device) === s) this.byDevice.delete(s.device);
    // Selecting again soon after continues the same chain: cancelling does not reset the limit.
    const chain = this.chains.get(s.device);
    if (chain?.user === s.user) chain.until = Math.min(chain.until, this.now());
    return true;
  }
}
