/** Requests between processes (bus.serve / bus.request): the answer of a handler, its error carried with its code. */
import type { ServiceReply, ServiceRequest } from './types.js';

/** Runs a service's handler; an error with a PLANTA_ code keeps its code and status, any other is an internal error. */
export async function answer(handler: (request: ServiceRequest) => Promise<unknown>, request: ServiceRequest): Promise<ServiceReply> {
  try {
    return { ok: true, result: (await handler(request)) ?? null };
  } catch (err) {
    const e = err as { code?: unknown; statusCode?: unknown; message?: unknown };
    const own = typeof e.code === 'string' && e.code.startsWith('PLANTA_');
    return {
      ok: false,
      code: own ? (e.code as string) : 'PLANTA_SERVICE_FAILED',
      message: typeof e.message === 'string' ? e.message : String(err),
      statusCode: own && typeof e.statusCode === 'number' ? e.statusCode : 500,
    };
  }
}

/** A service's error, thrown again on the asking side with the code and status it had where it happened. */
export class ServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

/** The result of a reply, or its error thrown. */
export function unwrap<T>(reply: ServiceReply): T {
  if (reply.ok) return reply.result as T;
  throw new ServiceError(reply.code, reply.message, reply.statusCode);
}
