/**
 * Shared pieces of the interop tests: a Planta ModbusTcpServer over in-memory
 * areas with a known data pattern that records every request it serves, and
 * the checks for whether each external peer is installed.
 */
import { execFileSync } from 'node:child_process';
import {
  BitArea,
  ModbusTcpServer,
  RegisterArea,
  createAreaHandler,
  type ModbusRequest,
  type ServerStats,
} from '../../src/modbus/index.js';

/** Every area of the Planta test server has this many elements; address SIZE and above → exception 02. */
export const SIZE = 4000;

/** The data pattern of the Planta test server (different per area, so a mixed-up area shows). */
export const pattern = {
  coil: (i: number): boolean => i % 3 === 0,
  discrete: (i: number): boolean => i % 5 === 1 || i % 7 === 2,
  holding: (i: number): number => (0x1234 + i * 331) & 0xffff,
  input: (i: number): number => (0xffff - i * 7) & 0xffff,
};

export function range<T>(start: number, count: number, f: (i: number) => T): T[] {
  return Array.from({ length: count }, (_, k) => f(start + k));
}

export interface Served {
  fc: number;
  unitId: number;
  /** Start address (the write address for FC23). */
  address: number;
  /** Quantity read, or values written (registers or coils). */
  quantity: number;
}

export interface PlantaPeerServer {
  port: number;
  coils: BitArea;
  discreteInputs: BitArea;
  holdingRegisters: RegisterArea;
  inputRegisters: RegisterArea;
  /** Every well-formed request that reached the handler, in order. */
  served: Served[];
  stats: ServerStats;
  close(): Promise<void>;
}

function describe(req: ModbusRequest, unitId: number): Served {
  switch (req.fc) {
    case 1:
    case 2:
    case 3:
    case 4:
      return { fc: req.fc, unitId, address: req.address, quantity: req.quantity };
    case 5:
    case 6:
      return { fc: req.fc, unitId, address: req.address, quantity: 1 };
    case 15:
    case 16:
      return { fc: req.fc, unitId, address: req.address, quantity: req.values.length };
    case 23:
      return { fc: 23, unitId, address: req.writeAddress, quantity: req.values.length };
  }
}

/** A Planta server on 127.0.0.1, port 0, filled with `pattern`. */
export async function startPlantaServer(): Promise<PlantaPeerServer> {
  const coils = new BitArea(SIZE);
  const discreteInputs = new BitArea(SIZE);
  const holdingRegisters = new RegisterArea(SIZE);
  const inputRegisters = new RegisterArea(SIZE);
  for (let i = 0; i < SIZE; i++) {
    coils.set(i, pattern.coil(i));
    discreteInputs.set(i, pattern.discrete(i));
    holdingRegisters.set(i, pattern.holding(i));
    inputRegisters.set(i, pattern.input(i));
  }
  const inner = createAreaHandler({ coils, discreteInputs, holdingRegisters, inputRegisters });
  const served: Served[] = [];
  const server = new ModbusTcpServer({
    host: '127.0.0.1',
    port: 0,
    handler: (req, ctx) => {
      served.push(describe(req, ctx.unitId));
      return inner(req, ctx);
    },
  });
  const { port } = await server.listen();
  return {
    port,
    coils,
    discreteInputs,
    holdingRegisters,
    inputRegisters,
    served,
    stats: server.stats,
    close: () => server.close(),
  };
}

/** Debian's pymodbus is installed for the system python only (a pyenv `python3` may shadow it). */
export const PYTHON = '/usr/bin/python3';

let pymodbusFound: boolean | undefined;

/** Whether /usr/bin/python3 can import pymodbus (checked once per test file). */
export function hasPymodbus(): boolean {
  if (pymodbusFound === undefined) {
    try {
      execFileSync(PYTHON, ['-c', 'import pymodbus.client, pymodbus.server.async_io'], { stdio: 'ignore' });
      pymodbusFound = true;
    } catch {
      pymodbusFound = false;
    }
  }
  return pymodbusFound;
}

export const PEERS_DIR = new URL('.', import.meta.url).pathname;
