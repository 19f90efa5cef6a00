/**
 * Every write a simulated PLC receives, accepted or refused, in a bounded log.
 * Tests read it to prove that no unexpected write ever reached the PLC.
 */
import {
  type HandlerResult,
  type ModbusRequest,
  ModbusExceptionError,
  type RequestContext,
  type RequestHandler,
} from '../modbus/index.js';

export interface WriteRecord {
  seq: number;
  time: string;
  client: string;
  unitId: number;
  fc: number;
  address: number;
  values: (number | boolean)[];
  /** 'ok', or the exception code the write was refused with. */
  outcome: 'ok' | number;
}

export class WriteLog {
  private readonly records: WriteRecord[] = [];
  private seq = 0;

  constructor(private readonly capacity = 10_000) {}

  add(record: Omit<WriteRecord, 'seq' | 'time'>): void {
    this.records.push({ seq: ++this.seq, time: new Date().toISOString(), ...record });
    if (this.records.length > this.capacity) this.records.splice(0, this.records.length - this.capacity);
  }

  /** Records with a sequence number greater than `since`. */
  list(since = 0): WriteRecord[] {
    return this.records.filter((r) => r.seq > since);
  }

  clear(): void {
    this.records.length = 0;
  }

  /** Wraps a handler so that every write request passing through it is recorded with its outcome. */
  recording(handler: RequestHandler): RequestHandler {
    return (req: ModbusRequest, ctx: RequestContext): HandlerResult | Promise<HandlerResult> => {
      const write = describeWrite(req);
      if (!write) return handler(req, ctx);
      const base = { client: `${ctx.remoteAddress}:${ctx.remotePort}`, unitId: ctx.unitId, fc: req.fc, ...write };
      const refused = (err: unknown): never => {
        this.add({ ...base, outcome: err instanceof ModbusExceptionError ? err.exceptionCode : 4 });
        throw err;
      };
      try {
        const result = handler(req, ctx);
        if (result instanceof Promise) {
          return result.then((r) => {
            this.add({ ...base, outcome: 'ok' });
            return r;
          }, refused);
        }
        this.add({ ...base, outcome: 'ok' });
        return result;
      } catch (err) {
        return refused(err);
      }
    };
  }
}

function describeWrite(req: ModbusRequest): { address: number; values: (number | boolean)[] } | undefined {
  switch (req.fc) {
    case 5:
    case 6:
      return { address: req.address, values: [req.value] };
    case 15:
      return { address: req.address, values: [...req.values] };
    case 16:
      return { address: req.address, values: Array.from(req.values) };
    case 23:
      return { address: req.writeAddress, values: Array.from(req.values) };
    default:
      return undefined;
  }
}
