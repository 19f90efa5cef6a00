/**
 * The calls behind the command controls, as types: shared/api.ts makes them
 * with fetch; unit tests stand in for the server with their own.
 */
import type { CommandOutcome, Quality } from '../../../src/web/protocol.js';
import type { CallResult } from '../shared/call-result.js';
import type { Params } from './command-model.js';

export interface SelectAnswer {
  token: string;
  expiresAt: number;
  command: string;
  params: Params;
  confirmation: string;
  device: string;
  current: Record<string, { value: number | boolean | string | null; quality: Quality; sourceTs: number }>;
}

export interface QueuedAnswer {
  id: string;
  status: 'queued';
  expiresAt: number;
}

/** The calls behind the command controls; an interface so unit tests can stand in for the server. */
export interface CommandApi {
  submit(id: string, command: string, params: Params): Promise<CallResult<QueuedAnswer>>;
  select(command: string, params: Params): Promise<CallResult<SelectAnswer>>;
  /** `password`: the user's password again, for a critical command when the server asks for it. */
  operate(id: string, token: string, command: string, params: Params, password?: string): Promise<CallResult<QueuedAnswer>>;
  cancel(token: string): Promise<CallResult<{ cancelled: boolean }>>;
  outcome(id: string): Promise<CallResult<CommandOutcome>>;
}
