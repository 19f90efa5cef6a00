/**
 * What an API call came to (shared/api.ts makes the calls; unit tests stand
 * in for the server): the server's answer (2xx), its refusal (an ApiError
 * with a stable code and maybe the field at fault), or no answer at all (the
 * request may or may not have reached the server).
 */
import type { ApiError } from '../../../src/web/protocol.js';

export type CallResult<T> =
  | { kind: 'ok'; status: number; body: T; serverDate: number | undefined }
  | { kind: 'refused'; status: number; error: ApiError['error'] }
  | { kind: 'no-answer'; message: string };
