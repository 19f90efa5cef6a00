/**
 * The `links:` section's schema: the lines that carry several devices told
 * apart by unit id — a serial line (RS-485), an RTU-over-TCP converter, a
 * Modbus/TCP gateway. The rules between links and devices are in links.ts.
 */
import { z } from 'zod';

/** The rates serial ports and Modbus devices offer. */
export const BAUD_RATES = [300, 600, 1200, 2400, 4800, 9600, 14400, 19200, 28800, 38400, 57600, 76800, 115200, 230400, 460800, 921600] as const;

const hostPort = z
  .string()
  .regex(/^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):([1-9]\d{0,4})$/, 'expected HOST:PORT, e.g. 10.0.0.7:502')
  .refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, 'expected a port in 1..65535')
  .meta({ format: 'host:port' });

export const linkSchema = z
  .object({
    description: z.string().default('').describe('What the line is, for people (e.g. "RS-485 in the blower room").'),
    serial: z.string().min(1).optional().describe('A serial port carrying Modbus RTU, e.g. /dev/ttyUSB0 or /dev/serial/by-id/… (an RS-485 adapter).'),
    baud: z
      .number()
      .int()
      .refine((b) => (BAUD_RATES as readonly number[]).includes(b), `expected a standard baud rate: ${BAUD_RATES.join(', ')}`)
      .optional()
      .describe('Serial: bits per second, as set on every device of the line. Default 19200.'),
    parity: z.enum(['none', 'even', 'odd']).optional().describe('Serial: the parity bit. Default even, the Modbus default; many devices ship with none.'),
    dataBits: z
      .number()
      .int()
      .refine((n) => n === 8, 'expected 8: Modbus RTU characters carry 8 data bits (7 is Modbus ASCII, which Planta does not speak)')
      .optional()
      .describe('Serial: data bits per character. Default 8, the only value RTU allows.'),
    stopBits: z.union([z.literal(1), z.literal(2)]).optional().describe('Serial: stop bits. Default 1 (the spec asks for 2 without parity; many devices use 1).'),
    rtuOverTcp: hostPort.optional().describe('An RTU-over-TCP converter (a serial server in "raw" or "transparent" mode): RTU frames in a TCP stream.'),
    tcp: hostPort.optional().describe('A Modbus/TCP gateway to a serial line (or any Modbus/TCP server with several unit ids): one connection for all its devices.'),
  })
  .strict()
  .superRefine((l, ctx) => {
    const kinds = (['serial', 'rtuOverTcp', 'tcp'] as const).filter((k) => l[k] !== undefined);
    if (kinds.length !== 1) {
      ctx.addIssue({ code: 'custom', message: kinds.length === 0 ? 'expected one of serial, rtuOverTcp or tcp' : `expected one of ${kinds.join(', ')}, not ${kinds.length}` });
    }
    if (l.serial === undefined) {
      for (const k of ['baud', 'parity', 'dataBits', 'stopBits'] as const) {
        if (l[k] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: 'only applies to a serial link' });
      }
    }
  })
  .describe(
    'A line shared by several devices, by name: a serial port, an RTU-over-TCP converter or a Modbus/TCP gateway (exactly one of `serial`, `rtuOverTcp`, `tcp`). Its devices name it in `link:` and are told apart by `unitId`; one request at a time goes on it.',
  );

export type RawLink = z.infer<typeof linkSchema>;
