/**
 * Select before operate, as in DNP3 and IEC 61850: `select` reserves a
 * device for one user, one command and its exact values for a few seconds
 * and returns a single-use token; `operate` with that token sends it. One
 * select may be pending per device; others see who holds it.
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

export class SelectRegistry {
  private readonly byToken = new Map<string, Selection>();
  private readonly byDevice = new Map<string, Selection>();

  constructor(
    readonly validityMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

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
        'command',
        409,
      );
    }
    if (held) this.byToken.delete(held.token);
    const s: Selection = {
      token: randomBytes(24).toString('base64url'),
      user: who.user,
      command,
      params: canonicalParams(params),
      device,
      expiresAt: this.now() + this.validityMs,
    };
    this.byToken.set(s.token, s);
    this.byDevice.set(device, s);
    return { token: s.token, expiresAt: s.expiresAt };
  }

  /** Consumes the token if it matches exactly; throws a rejection saying why otherwise. */
  operate(token: unknown, who: Identity, command: string, params: Record<string, unknown>): void {
    if (typeof token !== 'string') throw new CommandRejection('PLANTA_COMMAND_BAD_TOKEN', 'token: expected the token returned by select', 'token');
    const s = this.byToken.get(token);
    if (!s) throw new CommandRejection('PLANTA_COMMAND_BAD_TOKEN', 'token: unknown, already used, or cancelled: select again', 'token', 409);
    const release = (): void => {
      this.byToken.delete(token);
      if (this.byDevice.get(s.device) === s) this.byDevice.delete(s.device);
    };
    if (s.expiresAt <= this.now()) {
      release();
      throw new CommandRejection('PLANTA_COMMAND_TOKEN_EXPIRED', `token: the selection expired ${this.now() - s.expiresAt} ms ago: select again`, 'token', 409);
    }
    if (s.user !== who.user) throw new CommandRejection('PLANTA_COMMAND_TOKEN_USER', `token: it belongs to ${s.user}`, 'token', 403);
    if (s.command !== command || s.params !== canonicalParams(params)) {
      throw new CommandRejection('PLANTA_COMMAND_TOKEN_MISMATCH', 'token: it was selected for another command or other values: select again', 'token', 409);
    }
    release();
  }

  cancel(token: string, who: Identity): boolean {
    const s = this.byToken.get(token);
    if (!s || s.user !== who.user) return false;
    this.byToken.delete(token);
    if (this.byDevice.get(s.device) === s) this.byDevice.delete(s.device);
    return true;
  }
}
