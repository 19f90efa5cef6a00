/**
 * The configuration file's schema (zod). Shapes and ranges are checked here;
 * rules that relate several entries (unknown devices, overlapping writable
 * tags, addresses past 65535...) are checked in validate.ts.
 */
import { isIP } from 'node:net';
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

/** A duration that may be 0 (delays). */
const delay = z
  .union([z.number(), z.string()])
  .transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: 'expected a duration such as 0s, 30s or 5m' });
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
    /** No valid reply for this long and the link is down (alarm comm.<device>). Default 2 × timeout + the fastest scan period. */
    linkLoss: duration.optional(),
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

const tagRef = z.string().min(1);

/** A dashboard: analog bars with their limits, values, a sequence of phases, alarm and event tags. */
export const dashboardPageSchema = z
  .object({
    kind: z.literal('dashboard'),
    title: z.string(),
    bars: z
      .array(
        z
          .object({
            tag: tagRef,
            /** Tags (or numbers) drawn as the low and high limits on the bar. */
            low: z.union([tagRef, z.number()]).optional(),
            high: z.union([tagRef, z.number()]).optional(),
            /** A boolean tag: the limits apply only while it is true (e.g. a discharge limit). */
            limitsWhen: tagRef.optional(),
          })
          .strict(),
      )
      .default([]),
    values: z.array(tagRef).default([]),
    phases: z
      .object({
        /** The tag whose value (1..n) picks which of each step's duration tags applies. */
        selector: tagRef.optional(),
        stopped: tagRef.optional(),
        steps: z
          .array(
            z
              .object({
                label: z.string(),
                active: tagRef,
                elapsed: tagRef,
                durations: z.array(tagRef).min(1),
              })
              .strict(),
          )
          .min(1),
      })
      .strict()
      .optional(),
    /** Boolean tags that are alarms while true (until the alarm configuration arrives). */
    alarms: z.array(tagRef).default([]),
    /** Boolean tags whose changes are listed as events. */
    events: z.array(tagRef).default([]),
  })
  .strict();

/** A process mimic: an SVG drawing whose elements (by id) are bound to tags. */
export const mimicPageSchema = z
  .object({
    kind: z.literal('mimic'),
    title: z.string(),
    /** SVG file, relative to the configuration file. */
    drawing: z.string(),
    bindings: z
      .array(
        z
          .object({
            /** id of the SVG element. */
            element: z.string().min(1),
            tag: tagRef,
            /**
             * level: scales the element's height over `range` (bottom-anchored);
             * text: writes the value with its unit; running: filled when true, outline when false;
             * open: a valve drawn open when true; alarm: abnormal colour and marker when true.
             */
            as: z.enum(['level', 'text', 'running', 'open', 'alarm']),
            range: z.tuple([z.number(), z.number()]).optional(),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();

export const pageSchema = z.discriminatedUnion('kind', [dashboardPageSchema, mimicPageSchema]);
export type PageConfig = z.infer<typeof pageSchema>;

/**
 * A condition (src/config/conditions.ts): its text, or `{check, message}`
 * where the message says to an operator refused by it why.
 */
export const conditionSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { check: v } : v),
  z
    .object({
      check: z.string().min(1).max(1000),
      message: z.string().min(1).max(300).optional(),
    })
    .strict(),
);
export type ConditionEntry = z.infer<typeof conditionSchema>;
const conditionName = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'expected a name of letters, digits, "_" or "-", starting with a letter');

/** "$name": the value of the command's parameter `name`. */
const paramRef = z.string().regex(/^\$[A-Za-z_][A-Za-z0-9_]*$/, 'expected a number, true/false, or a parameter such as $program');
const commandValue = z.union([z.number(), z.boolean(), paramRef]);
/** A tag name, where {name} stands for the value of an integer parameter (e.g. program{program}.fill). */
const tagTemplate = z.string().min(1);

export const commandSchema = z
  .object({
    /** What the button says, e.g. "Start program". */
    label: z.string().min(1),
    description: z.string().default(''),
    /** The confirmation dialog's question; {param} is replaced by its value, e.g. "Start program {program}?". */
    confirmation: z.string().min(1),
    /** The lowest role allowed (a higher role may too). */
    role: z.enum(ROLES).default('operator'),
    /** Select-before-operate (and re-authentication once users exist). */
    critical: z.boolean().default(false),
    /** A command not sent within this time after the request is never sent. */
    expiry: duration.default(5000),
    params: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a parameter name of letters, digits and "_"'),
        z
          .object({
            label: z.string().optional(),
            /** Take the type and range from this tag's writable limits. */
            tag: tagTemplate.optional(),
            min: z.number().optional(),
            max: z.number().optional(),
            integer: z.boolean().default(false),
          })
          .strict(),
      )
      .default({}),
    steps: z
      .array(
        z.union([
          z.object({ set: tagTemplate, value: commandValue }).strict(),
          z.object({ block: z.array(tagTemplate).min(1), values: z.array(commandValue).min(1) }).strict(),
          z.object({ pulse: tagTemplate }).strict(),
        ]),
      )
      .min(1),
    /** The PLC took the command when this tag equals this value within the time (else: not accepted). */
    expect: z
      .object({ tag: tagTemplate, equals: commandValue, within: duration.default(3000) })
      .strict()
      .optional(),
    /**
     * Preconditions: the command is refused, before anything is written, unless
     * each holds on the values the PLC holds (e.g. no emergency stop). Checked by
     * the web on the live values and by the poller on values read right before writing.
     */
    requires: z.record(conditionName, conditionSchema).default({}),
    /** Relations the values must keep once written (with the PLC's other values), e.g. a minimum below its maximum. */
    relations: z.record(conditionName, conditionSchema).default({}),
  })
  .strict();

export type CommandConfig = z.infer<typeof commandSchema>;

export const PRIORITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

/**
 * An alarm (ISA-18.2): digital — a boolean tag active while it equals
 * `activeWhen` — or analog — a numeric tag against a limit (a number or a
 * tag) with a deadband; both with on/off delays and an optional condition
 * outside which the alarm is suppressed by design.
 */
export const alarmSchema = z
  .object({
    tag: tagRef,
    message: z.string().min(1),
    priority: z.enum(PRIORITIES),
    activeWhen: z.boolean().optional(),
    condition: z.enum(['high', 'highhigh', 'low', 'lowlow']).optional(),
    limit: z.union([z.number(), tagRef]).optional(),
    /** An active analog alarm clears only once the value is back past the limit by this much. */
    deadband: z.number().min(0).default(0),
    /** The condition must hold this long before the alarm activates. */
    onDelay: delay.default(0),
    /** The condition must be gone this long before the alarm returns to normal. */
    offDelay: delay.default(0),
    /** Suppressed by design while this boolean tag is false (e.g. a discharge limit). */
    enabledWhen: tagRef.optional(),
  })
  .strict();
export type AlarmConfig = z.infer<typeof alarmSchema>;

/** Who may shelve an alarm of one priority, and for how long at most. */
const shelvingRule = z
  .object({
    /** The longest an alarm of this priority may be shelved: 1m..24h (a shelved alarm always comes back). */
    max: duration.refine((ms) => ms >= 60_000 && ms <= 86_400_000, 'expected a duration between 1m and 24h').optional(),
    /** The lowest role that may shelve it. */
    role: z.enum(['operator', 'engineer', 'admin']).optional(),
  })
  .strict();

/** Shelving by priority (ISA-18.2: shelving is time-limited and controlled); what is left out keeps its default. */
export const shelvingSchema = z.object(Object.fromEntries(PRIORITIES.map((p) => [p, shelvingRule.optional()])) as Record<Priority, z.ZodOptional<typeof shelvingRule>>).strict();
export type ShelvingConfig = z.infer<typeof shelvingSchema>;
export type ShelvingPolicy = Record<Priority, { maxMs: number; role: Role }>;

/** The defaults: a critical alarm (an emergency stop) is shelved by an engineer, for an hour at most; others by an operator, for a day at most. */
export const DEFAULT_SHELVING: Readonly<ShelvingPolicy> = {
  critical: { maxMs: 3_600_000, role: 'engineer' },
  high: { maxMs: 86_400_000, role: 'operator' },
  medium: { maxMs: 86_400_000, role: 'operator' },
  low: { maxMs: 86_400_000, role: 'operator' },
};

/** An event for the journal: a boolean tag becoming true (e.g. a phase starting). */
export const eventSchema = z
  .object({
    tag: tagRef,
    message: z.string().min(1),
    /** Log when the tag becomes this value. Default true. */
    when: z.boolean().default(true),
  })
  .strict();
export type EventConfig = z.infer<typeof eventSchema>;

/** A size in bytes ("64KiB", "1MiB", 65536) of at least `min`. */
function bytes(min: number, message: string) {
  return z.union([z.number(), z.string()]).transform((v, ctx) => {
    const m = typeof v === 'number' ? null : /^\s*(\d+(?:\.\d+)?)\s*(B|kB|KiB|MB|MiB|GB|GiB)?\s*$/.exec(v);
    const units: Record<string, number> = { B: 1, kB: 1e3, KiB: 1024, MB: 1e6, MiB: 1024 ** 2, GB: 1e9, GiB: 1024 ** 3 };
    const n = typeof v === 'number' ? v : m ? Math.round(Number(m[1]) * units[m[2] ?? 'B']!) : NaN;
    if (!Number.isFinite(n) || n < min) {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
    return n;
  });
}

/** An IPv4 or IPv6 address, or a network in CIDR notation (10.0.0.0/8, fd00::/8). */
const addressOrNetwork = z.string().refine((v) => {
  const [address, bits, ...rest] = v.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}, 'expected an IP address or a network such as 10.0.0.0/8');

/**
 * What one web node accepts at once, and how long it waits for a client
 * (src/web/limits.ts). Per client: the client's address (behind a trusted
 * proxy, the one the proxy names).
 */
export const limitsSchema = z
  .object({
    /** Open connections in all; past this, 503 PLANTA_LIMIT_CONNECTIONS. */
    connections: int(1, 1_000_000).default(1024),
    /** Open connections from one address (a trusted proxy is not counted as one client). */
    connectionsPerIp: int(1, 1_000_000).default(128),
    /** Live streams (/api/stream) in all; past this, 503 PLANTA_LIMIT_STREAMS. */
    streams: int(1, 1_000_000).default(256),
    /** Live streams of one client; past this, 429 PLANTA_LIMIT_STREAMS_PER_CLIENT. */
    streamsPerIp: int(1, 1_000_000).default(16),
    /** Request body of an ordinary route; sign-in takes less, commands and acknowledgements more (docs/security.md). */
    bodyBytes: bytes(1024, 'expected a size of at least 1KiB such as 16KiB').default(16 * 1024),
    /** A client must send its request's headers within this. */
    headersTimeout: duration.default(10_000),
    /** ...and the whole request, body included, within this. */
    requestTimeout: duration.default(30_000),
    /** A connection on which nothing moves, either way, is closed after this. */
    idleTimeout: duration.default(60_000),
    /** An idle kept-alive connection between two requests is closed after this. */
    keepAliveTimeout: duration.default(5_000),
  })
  .strict()
  .superRefine((l, ctx) => {
    const atMost = (small: keyof typeof l, big: keyof typeof l): void => {
      if (l[small] > l[big]) ctx.addIssue({ code: 'custom', path: [small], message: `must not exceed ${big} (${l[big]})` });
    };
    atMost('connectionsPerIp', 'connections');
    atMost('streamsPerIp', 'streams');
    atMost('streams', 'connections');
    atMost('headersTimeout', 'requestTimeout');
  });
export type LimitsConfig = z.infer<typeof limitsSchema>;

/** Who may see without signing in, session lifetimes, TLS, the proxies in front, and the limits. */
export const securitySchema = z
  .object({
    /** Viewer access without login: none, requests from this machine (local), or anyone. */
    anonymous: z.enum(['none', 'local', 'any']).default('none'),
    sessionIdle: duration.default(30 * 60_000),
    sessionMax: duration.default(12 * 3_600_000),
    /** PEM files, relative to the configuration file: served over HTTPS when given. */
    tls: z.object({ cert: z.string().min(1), key: z.string().min(1) }).strict().optional(),
    /**
     * The reverse proxies in front of Planta (addresses or networks). Only a
     * request from one of them is believed when its X-Forwarded-For names the
     * client; with any proxy here, `anonymous: local` lets nobody in.
     */
    trustProxy: z.array(addressOrNetwork).default([]),
    limits: limitsSchema.prefault({}),
    /**
     * How long command ids and outcomes are kept after a command's expiry:
     * an id is refused again (and its outcome answered) for that long.
     */
    commandRetention: duration.refine((ms) => ms >= 3_600_000, 'expected at least 1h, e.g. 7d').default(7 * 86_400_000),
  })
  .strict();
export type SecurityConfig = z.infer<typeof securitySchema>;

/** A retention: a duration with d (days), w (weeks) or y (365 days), or "forever" (null). */
const retention = z
  .union([z.number(), z.string()])
  .transform((v, ctx) => {
    if (v === 'forever') return null;
    const m = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(w|y)\s*$/.exec(v) : null;
    const ms = m ? Math.round(Number(m[1]) * (m[2] === 'w' ? 7 : 365) * 86_400_000) : parseDuration(v);
    if (ms === undefined || ms <= 0) {
      ctx.addIssue({ code: 'custom', message: 'expected a duration such as 90d, 2y, or forever' });
      return z.NEVER;
    }
    return ms;
  });

/**
 * A batch process cycle for the cycle report (e.g. the SBR: aerated fill,
 * aeration, settling, discharge). A cycle starts when the first phase
 * becomes active and ends when the last phase ends (or the next cycle
 * starts, or every phase is inactive).
 */
export const cycleSchema = z
  .object({
    label: z.string().default('Cycle'),
    /** The tag whose value (1..n) picks which of each phase's planned durations applies. */
    program: tagRef.optional(),
    /** The unit of the planned-duration tags. */
    plannedUnit: z.enum(['s', 'min', 'h']).default('min'),
    /** A phase longer than planned by more than this is an anomaly. */
    tolerance: delay.default(60_000),
    phases: z
      .array(
        z
          .object({
            name: z.string().min(1),
            /** Boolean tag, true while the phase runs. */
            active: tagRef,
            /** Planned duration tags, one per program (program 1 first); one tag if there is no program selector. */
            planned: z.array(tagRef).default([]),
            /**
             * The PLC's own count of the phase's time, in plannedUnit: the actual duration is its highest value from the
             * phase's start until the next cycle — the plant's clock (also right for an accelerated simulator). A PLC
             * may keep a finished phase's count or reset it; the last step lands in the scan that ends the phase.
             * Without it: wall-clock time.
             */
            elapsed: tagRef.optional(),
          })
          .strict(),
      )
      .min(1),
    /** Dissolved oxygen during a phase: mean and minimum, and an anomaly outside [min, max]. */
    oxygen: z
      .object({ tag: tagRef, phase: z.string().min(1), min: z.union([tagRef, z.number()]).optional(), max: z.union([tagRef, z.number()]).optional() })
      .strict()
      .optional(),
    /** Turbidity during a phase: its mean, and an anomaly above max. */
    turbidity: z.object({ tag: tagRef, phase: z.string().min(1), max: z.union([tagRef, z.number()]).optional() }).strict().optional(),
    /** A volume counter: the volume treated is its increase over the cycle. */
    volume: z.object({ tag: tagRef, wrap: z.number().positive().optional() }).strict().optional(),
  })
  .strict();
export type CycleConfig = z.infer<typeof cycleSchema>;

/** A size in bytes: a number, or "512MiB", "2GiB", "100MB"... */
const size = bytes(1024 * 1024, 'expected a size of at least 1MiB such as 256MiB or 2GiB');

/**
 * Where the historian keeps its data: an SQLite file (the default), or a
 * PostgreSQL database (a schema of its own, created if missing) with a local
 * store-and-forward buffer. The environment's PLANTA_HISTORIAN_URL overrides
 * it (a postgres:// URL, or `sqlite`).
 */
export const historianStoreSchema = z
  .object({
    kind: z.enum(['sqlite', 'postgres']).default('sqlite'),
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\/\S+$/, 'expected postgres://USER@HOST:PORT/DATABASE')
      .default('postgres://127.0.0.1:5432/planta'),
    schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a schema name of lower-case letters, digits and _ (at most 63)')
      .default('planta'),
    /** The store-and-forward file. Default: history-buffer.db beside the SQLite history file (data/). */
    buffer: z.string().min(1).optional(),
    /** Past this size the buffer drops its oldest samples. */
    bufferSize: size.default(256 * 1024 * 1024),
  })
  .strict();
export type HistorianStoreConfig = z.infer<typeof historianStoreSchema>;

/** The historian: what it keeps, how long, and the cycle report. */
export const historianSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** A tag's unchanged value is recorded again after this long. */
    maxInterval: duration.default(60_000),
    /** Per-tag maximum intervals. */
    intervals: z.record(tagRef, duration).default({}),
    retention: z
      .object({ raw: retention.default(90 * 86_400_000), minute: retention.default(2 * 365 * 86_400_000), hour: retention.default(null) })
      .strict()
      .default({ raw: 90 * 86_400_000, minute: 2 * 365 * 86_400_000, hour: null }),
    cycles: cycleSchema.optional(),
    store: historianStoreSchema.optional(),
  })
  .strict();
export type HistorianConfig = z.infer<typeof historianSchema>;

/**
 * The bus Planta's processes meet on: in memory (one process: `planta start`,
 * the default) or Redis (separate processes: poll, web, alarms, historian).
 * The environment's PLANTA_BUS_URL overrides it.
 */
export const busSchema = z
  .object({
    kind: z.enum(['memory', 'redis']).default('memory'),
    url: z
      .string()
      .regex(/^rediss?:\/\/\S+$/, 'expected redis://HOST:PORT (or rediss:// for TLS)')
      .default('redis://127.0.0.1:6379'),
    /** Start of every key and channel, so that several plants share one Redis. Default: planta:<plant name>: */
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'expected 1 to 64 letters, digits, _ . : or -')
      .optional(),
    /** How long a poller's device lease lasts: a standby poller takes a device over this long after its holder died. */
    lease: delay.refine((ms) => ms >= 300 && ms <= 600_000, 'expected a duration between 300ms and 10m, e.g. 5s').default(5000),
    /**
     * A poller's outbox (store-and-forward): samples it could not hand to
     * Redis wait in this SQLite file, relative to the working directory.
     * Default data/outbox-<devices>.db.
     */
    outbox: z.string().min(1).optional(),
    /** The outbox's size: past it, its oldest samples are dropped. */
    outboxSize: size.default(256 * 1024 * 1024),
    /** How long the samples streams in Redis keep what no historian took (Redis memory ≈ change rate × this). */
    historyBacklog: delay.refine((ms) => ms >= 10_000 && ms <= 86_400_000, 'expected a duration between 10s and 24h, e.g. 10m').default(600_000),
  })
  .strict();
export type BusConfig = z.infer<typeof busSchema>;

export const SECTIONS = ['plant', 'security', 'historian', 'bus', 'devices', 'tags', 'alarms', 'shelving', 'events', 'commands', 'relations', 'pages'] as const;
export const NAME_PATTERN = NAME;
export const NAME_MESSAGE = nameMessage;

/** A problem found between entries, at a path of the configuration. */
export interface RuleProblem {
  path: (string | number)[];
  message: string;
}

export type RawDevice = z.infer<typeof deviceSchema>;
export type RawTag = z.infer<typeof tagSchema>;
export interface RawConfig {
  plant: z.infer<typeof plantSchema>;
  security: SecurityConfig;
  historian: HistorianConfig;
  bus: BusConfig;
  devices: Record<string, RawDevice>;
  tags: Record<string, RawTag>;
  alarms: Record<string, AlarmConfig>;
  shelving: ShelvingConfig;
  events: Record<string, EventConfig>;
  commands: Record<string, CommandConfig>;
  /** Relations between tags every command writing one of them must keep (src/config/conditions.ts). */
  relations: Record<string, ConditionEntry>;
  pages: Record<string, PageConfig>;
}
