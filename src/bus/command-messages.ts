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
  | 'expired';

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
}

export const FINAL_STATUSES: readonly CommandStatus[] = ['confirmed', 'rejected', 'failed', 'not-accepted', 'expired'];
