/** The in-memory bus's requests to services: the handler of the same process, called directly. */
import { BusError } from '../errors.js';
import { answer } from '../service.js';
import type { RpcBus, ServiceReply, ServiceRequest, Unsubscribe } from '../types.js';

export class MemoryRpc implements RpcBus {
  private readonly services = new Map<string, (request: ServiceRequest) => Promise<unknown>>();

  async serve(service: string, handler: (request: ServiceRequest) => Promise<unknown>): Promise<Unsubscribe> {
    this.services.set(service, handler);
    return async () => {
      if (this.services.get(service) === handler) this.services.delete(service);
    };
  }

  async request(service: string, request: ServiceRequest): Promise<ServiceReply> {
    const handler = this.services.get(service);
    if (!handler) throw new BusError('PLANTA_BUS_NO_ANSWER', `no ${service} service on this bus`);
    return answer(handler, request);
  }

  clear(): void {
    this.services.clear();
  }
}
