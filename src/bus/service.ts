/** Requests between processes (bus.serve / bus.request): the answer of a handler, its error carried with its code. */
import { type ErrorCode, PlantaError, type StatusOf, isAnswerable } from '../errors.js';
import type { ServiceReply, ServiceRequest } from './types.js';

/**
 * Runs a service's handler; an error with a PLANTA_ code keeps its code (and its status, when it has
 * one: else 500), any other is an internal error. The code is read off the error, not its class: a
 * ModbusError (src/modbus imports nothing of ours) carries one too.
 */
export async function answer(handler: (request: ServiceRequest) => Promise<unknown>, request: ServiceRequest): Promise<ServiceReply> {
  try {
    return { ok: true, result: (await handler(request)) ?? null };
  } catch (err) {
    const code = (err as { code?: unknown } | null | undefined)?.code;
    const own = typeof code === 'string' && code.startsWith('PLANTA_');
    const message = (err as { message?: unknown } | null | undefined)?.message;
    return {
      ok: false,
      code: own ? code : 'PLANTA_SERVICE_FAILED',
      message: typeof message === 'string' ? message : String(err),
      statusCode: own && isAnswerable(err) ? err.statusCode : 500,
    };
  }
}

/**
 * A service's error, thrown again on the asking side with the code and status it had where it
 * happened (the status as it came, not looked up here: the serving process decided it).
 */
export class ServiceError extends PlantaError {
  declare readonly statusCode: number;

  constructor(code: ErrorCode, message: string, statusCode: number) {
    super(code, message, { status: statusCode as StatusOf<ErrorCode> });
    this.name = 'ServiceError';
  }
}

/** The result of a reply, or its error thrown. */
export function unwrap<T>(reply: ServiceReply): T {
  if (reply.ok) return reply.result as T;
  // The code as it came: the serving process answers with codes of the catalogue (answer() above).
  throw new ServiceError(reply.code as ErrorCode, reply.message, reply.statusCode);
}
