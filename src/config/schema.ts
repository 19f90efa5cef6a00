/**
 * The configuration file's schema (zod). Shapes and ranges are checked here;
 * rules that relate several entries (unknown devices, overlapping writable
 * tags, addresses past 65535...) are checked in validate.ts.
 */
import { z } from 'zod';
import { BYTE_ORDERS, Limits } from '../modbus/index.js';
import { AREAS, DATA_TYPES } from '../tags/types.js';
import { parseDuration } from '../util/duration.js';

export const ROLES = ['viewer', 'operator', 'engineer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

const NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;
const nameMessage = 'expected a name of letters, digits, "_", "." or "-", starting with a letter';

const duration = z
  .union([z.number(), z.string()])
  .transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined || ms <= 0) {
      ctx.addIssue({ code: 'custom', message: 'expected a duration such as 500ms, 2s or 1m' });
      return z.NEVER;
    }
    return ms;
  });

const int = (min: number, max: number) => z.number().int().min(min).max(max);

export const deviceSchema = z
  .object({
    description: z.string().default(''),
    host: z.string().min(1),
    port: int(1, 65535).default(502),
    unitId: int(0, 255).default(1),
    timeout: duration.default(1000),
    connectTimeout: duration.default(2000),
    /** Requests in flight at once; many PLCs serve one at a time. */
    window: int(1, 64).default(1),
    maxRegisters: int(1, Limits.readRegisters).default(Limits.readRegisters),
    maxBits: int(1, Limits.readBits).default(Limits.readBits),
    /** Unused addresses read anyway to merge two requests into one. */
    maxGap: int(0, Limits.readRegisters).default(8),
    scanGroups: z.record(z.string().regex(NAME, nameMessage), duration).default({ default: 1000 }),
  })
  .strict();

const writableSchema = z
  .object({
    min: z.number().optional(),
    max: z.number().optional(),
    roles: z.array(z.enum(ROLES)).min(1).default(['operator']),
  })
  .strict();

export const tagSchema = z
  .object({
    description: z.string().default(''),
    device: z.string().optional(),
    area: z.enum(AREAS as [string, ...string[]]),
    address: int(0, 0xffff),
    type: z.enum(DATA_TYPES as [string, ...string[]]).optional(),
    bit: int(0, 15).optional(),
    length: int(1, Limits.readRegisters).optional(),
    order: z.enum(BYTE_ORDERS as [string, ...string[]]).default('ABCD'),
    scale: z.number().refine((v) => v !== 0, 'a scale of 0 would hide every value').default(1),
    offset: z.number().default(0),
    unit: z.string().default(''),
    decimals: int(0, 10).optional(),
    range: z.tuple([z.number(), z.number()]).optional(),
    deadband: z.number().min(0).default(0),
    scan: z.string().optional(),
    writable: writableSchema.optional(),
  })
  .strict();

export const plantSchema = z
  .object({
    name: z.string().default('Planta'),
    /** IANA time zone the HMI shows times in, e.g. America/Argentina/Buenos_Aires. */
    timezone: z.string().optional(),
  })
  .strict();

/** Sections reserved for later work (alarms, commands, HMI pages): validated as maps until then. */
export const reservedSectionSchema = z.record(z.string(), z.unknown());

export const SECTIONS = ['plant', 'devices', 'tags', 'alarms', 'commands', 'pages'] as const;
export const NAME_PATTERN = NAME;
export const NAME_MESSAGE = nameMessage;

export type RawDevice = z.infer<typeof deviceSchema>;
export type RawTag = z.infer<typeof tagSchema>;
export interface RawConfig {
  plant: z.infer<typeof plantSchema>;
  devices: Record<string, RawDevice>;
  tags: Record<string, RawTag>;
  alarms: Record<string, unknown>;
  commands: Record<string, unknown>;
  pages: Record<string, unknown>;
}
