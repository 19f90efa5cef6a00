/**
 * Operator commands as they travel on the bus: a request resolved and
 * validated by the web (concrete tags and engineering values), and its
 * outcome reported by the poller that executed it. Plain serialisable data.
 */
import type { TagValueType } from '../tags/types.js';

export type ResolvedStep =
  | { kind: 'set'; tag: string; value: number | boolean }
  | { kind: 'block'; tags: string[]; values: (number | boolean)[] }
  | { kind: 'pulse'; tag: string };

/**
 * A condition the poller checks right before writing (src/commands/conditions.ts):
 * a precondition (`requires`: the plant as it is) or a relation (the values as
 * they will be: the PLC's with the command's new ones).
 */
export interface ResolvedCheck {
  kind: 'requires' | 'relation';
  name: string;
  /** The condition as configured; {param} and $param take the request's parameters. */
  check: string;
  message?: string;
}

export interface CommandRequest {
  /** Chosen by the client: a retry with the same id is never executed twice. */
  id: string;
  command: string;
  device: string;
  user: string;
  role: string;
  params: Record<string, number | boolean>;
  steps: ResolvedStep[];
  expect?: { tag: string; equals: number | boolean; withinMs: number };
  /** Preconditions and relations, checked on values read from the PLC right before the first write. */
  checks?: ResolvedCheck[];
  /** What the operator confirmed, with the values filled in. */
  confirmation: string;
  createdAt: number;
  /** Never sent after this time (epoch ms). */
  expiresAt: number;
  /**
   * The bus must have taken the request by then (epoch ms, on the bus's
   * clock): the web answered "not queued" to its requester at that moment,
   * so a request that reaches the bus later (a client's offline queue, a
   * stalled connection) is never executed (Redis: the stream entry's time).
   */
  acceptBy?: number;
}

export type CommandStatus =
  /** Accepted by the web and waiting for the poller. */
  | 'queued'
  /** Read back as written (and the expected effect seen). */
  | 'confirmed'
  /** Refused before anything was sent (validation, role, duplicate id...). */
  | 'rejected'
  /** A Modbus exception, a timeout or a lost connection while writing. */
  | 'failed'
  /** Written, but the read-back shows the PLC did not take it (e.g. start during an emergency stop). */
  | 'not-accepted'
  /** Never sent: too old when its turn came, or the link stayed down. */
  | 'expired'
  /**
   * Planta stopped (a crash, a killed poller) after it began writing and
   * before it read the values back: the PLC may or may not have taken it.
   * Check the plant before sending it again.
   */
  | 'unknown';

export interface CommandOutcome {
  id: string;
  command: string;
  device: string;
  user: string;
  params: Record<string, number | boolean>;
  status: CommandStatus;
  /** Why, in words, for every status but queued and confirmed. */
  reason?: string;
  /** A stable code: PLANTA_COMMAND_* or the Modbus error's code. */
  code?: string;
  /** For rejections: the field at fault. */
  field?: string;
  /** Values of the written tags read just before writing, and read back after. */
  before?: Record<string, TagValueType | null>;
  after?: Record<string, TagValueType | null>;
  /** The question the operator confirmed (in the queued outcome). */
  confirmation?: string;
  createdAt: number;
  /** When this outcome was decided. */
  at: number;
  /**
   * Only on a refused request: a reference of its own (one per HTTP
   * request). Such a record goes to the audit trail and is answered to its
   * requester; it is never the outcome of its id, which may be another
   * user's: the live stream, the event list and the outcome records skip it.
   */
  attempt?: string;
}

/** A claim outlives its command's expiry by this much, so that no clock step can let a late delivery write. */
export const CLAIM_RETENTION_MS = 10 * 60_000;

export const FINAL_STATUSES: readonly CommandStatus[] = ['confirmed', 'rejected', 'failed', 'not-accepted', 'expired', 'unknown'];

/** Whether a record reports a refused request rather than the outcome of its id (see CommandOutcome.attempt). */
export const isRefusal = (o: CommandOutcome): boolean => o.attempt !== undefined;

/** The outcome of `request` with `status` (and a code, reason… in `extra`), decided now unless `extra.at` says when. */
export function outcomeOf(request: CommandRequest, status: CommandStatus, extra: Partial<CommandOutcome> = {}): CommandOutcome {
  return {
    id: request.id,
    command: request.command,
    device: request.device,
    user: request.user,
    params: request.params,
    status,
    createdAt: request.createdAt,
    at: Date.now(),
    ...extra,
  };
}
