/**
 * The configuration file's schema (zod). Shapes and ranges are checked here;
 * rules that relate several entries (unknown devices, overlapping writable
 * tags, addresses past 65535...) are checked in resolve.ts and commands.ts.
 * Every field's `.describe()` is its line in docs/configuration.md, generated
 * by scripts/config-docs.ts (`format` metadata names the doc's value types).
 *
 * Why this file is long: it is that reference — every section's schema, each
 * field with its words, in one place.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { BYTE_ORDERS, Limits } from '../modbus/index.js';
import { AREAS, DATA_TYPES } from '../tags/types.js';
import { parseDuration } from '../util/duration.js';
import { duration } from './durations.js';
import { hoursProblem } from './hours.js';
import type { RawLink } from './link-schema.js';
import { displayText } from './text.js';
import type { NorthboundConfig } from './northbound-schema.js';

export { type RawLink, linkSchema } from './link-schema.js';
export { northboundSchema, type NorthboundConfig } from './northbound-schema.js';

export const ROLES = ['viewer', 'operator', 'engineer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

const NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;
const nameMessage = 'expected a name of letters, digits, "_", "." or "-", starting with a letter';

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
  })
  .meta({ format: 'duration', minimum: 0 });

const int = (min: number, max: number) => z.number().int().min(min).max(max);

export const deviceSchema = z
  .object({
    description: displayText().default('').describe('What the device is, for people (the devices page shows it).'),
    host: z.string().min(1).optional().describe('Host name or IP address of the Modbus/TCP server (a device of its own); a device on a `link` takes its address from the link.'),
    port: int(1, 65535).optional().describe('Its TCP port (with `host`). Default 502.'),
    link: z.string().optional().describe('The link (a serial line, a converter, a gateway) the device is on, instead of `host`: it shares the line with the link\'s other devices.'),
    unitId: int(0, 255).default(1).describe('Modbus unit id: the device on a link (1..247 on a serial line), or behind a gateway; many TCP devices ignore it.'),
    timeout: duration.default(1000).describe('A request without a reply within this has timed out.'),
    connectTimeout: duration.default(2000).describe('A TCP connection not open within this has failed.'),
    linkLoss: duration
      .optional()
      .describe('No valid reply for this long and the link is down (alarm comm.<device>). Default 2 × timeout + the fastest scan period; at least timeout + the fastest scan period.'),
    window: int(1, 64).default(1).describe('Requests in flight at once; many PLCs serve one at a time. On a link: only behind a Modbus/TCP gateway (`tcp:`), whose frames carry transaction ids; refused on serial and RTU-over-TCP links.'),
    maxRegisters: int(1, Limits.readRegisters).default(Limits.readRegisters).describe('The most registers one read request asks for.'),
    maxBits: int(1, Limits.readBits).default(Limits.readBits).describe('The most coils or discrete inputs one read request asks for.'),
    maxGap: int(0, Limits.readRegisters).default(8).describe('Unused addresses read anyway to merge two requests into one.'),
    scanGroups: z
      .record(z.string().regex(NAME, nameMessage), duration)
      .default({ default: 1000 })
      .describe("How often each group of tags is read: group name → period. A tag without `scan` is in the device's first group."),
    shedOrder: z
      .array(z.string())
      .optional()
      .describe(
        'The scan groups that give way when the poller cannot keep up (a starved CPU, a slow device), the first first: a group shed is read at one of three of its scans while the device is behind (its values stay fresh). A group not listed is never shed. Default: every group but the fastest, the slowest first.',
      ),
  })
  .strict()
  .describe('A Modbus device (a PLC, a meter, a drive) to poll, by name: at `host`, or on a `link` with its `unitId`.');

const writableSchema = z
  .object({
    min: z.number().optional().describe('The lowest value a command may write (numeric tags).'),
    max: z.number().optional().describe('The highest value a command may write (numeric tags).'),
    roles: z.array(z.enum(ROLES)).min(1).default(['operator']).describe("Who may write it: the lowest of these roles, and every role above it (a command's role must reach it)."),
  })
  .strict();

export const tagSchema = z
  .object({
    description: displayText().default('').describe('What the value is, for people.'),
    device: z.string().optional().describe('The device it is read from; may be left out when there is only one.'),
    area: z
      .enum(AREAS as [string, ...string[]])
      .describe('The Modbus area: coil and discrete hold bits (read with FC1, FC2); holding and input hold 16-bit registers (FC3, FC4). Only coils and holding registers can be written.'),
    address: int(0, 0xffff).describe('Its address in the area, from 0: the address on the wire, not 40001-style numbering.'),
    type: z
      .enum(DATA_TYPES as [string, ...string[]])
      .optional()
      .describe('Data type. Default bool for coils and discrete inputs, uint16 for registers; int32, uint32 and float32 take two registers, float64 four; bit is one bit of a register (with `bit`); string is `length` registers.'),
    bit: int(0, 15).optional().describe('For type bit: which bit of the register, 0 the least significant.'),
    length: int(1, Limits.readRegisters).optional().describe('For type string: how many registers it takes.'),
    order: z
      .enum(BYTE_ORDERS as [string, ...string[]])
      .default('ABCD')
      .describe('Order of the bytes A B C D (A most significant) in the registers: ABCD big-endian (the Modbus default), CDAB word swap, BADC byte swap, DCBA little-endian.'),
    scale: z
      .number()
      .refine((v) => v !== 0, 'a scale of 0 would hide every value')
      .default(1)
      .describe('The value is raw × scale + offset (numeric types).'),
    offset: z.number().default(0).describe('Added to the scaled raw value.'),
    unit: z.string().default('').describe('Engineering unit shown after the value, e.g. m or mg/L.'),
    decimals: int(0, 10).optional().describe("Decimals shown. Default 2 for floats, else as many as the scale's (a scale of 0.01 shows 2)."),
    range: z.tuple([z.number(), z.number()]).optional().describe('Display range [low, high] of bars, mimics and trends (low < high).'),
    deadband: z.number().min(0).default(0).describe('A numeric value is published only when it moves by more than this (0: every change).'),
    scan: z.string().optional().describe("Its device's scan group. Default the device's first."),
    writable: writableSchema.optional().describe('Commands may write it (coils and holding registers; not type bit or string); absent, nothing ever writes it.'),
  })
  .strict()
  .describe('A value read from a device, by name (letters, digits, "_", "." and "-").');

export const plantSchema = z
  .object({
    name: displayText().default('Planta').describe("The plant's name, shown in the HMI's top bar; it (the plain or English one) also makes the Redis bus's default key prefix."),
    timezone: z.string().optional().describe("IANA time zone the HMI shows times in, e.g. America/Argentina/Buenos_Aires. Default the server's."),
  })
  .strict()
  .describe('The plant as a whole.');

const tagRef = z.string().min(1).meta({ format: 'tag' });

export const dashboardPageSchema = z
  .object({
    kind: z.literal('dashboard').describe('A dashboard.'),
    title: displayText().describe('Its title, also its label in the navigation (the first dashboard is the "Overview").'),
    bars: z
      .array(
        z
          .object({
            tag: tagRef.describe('A numeric tag, drawn over its range.'),
            low: z.union([tagRef, z.number()]).optional().describe('A tag (or number) drawn as the low limit on the bar.'),
            high: z.union([tagRef, z.number()]).optional().describe('A tag (or number) drawn as the high limit on the bar.'),
            limitsWhen: z
              .string()
              .min(1)
              .optional()
              .describe('A condition, in the language of commands\' `requires:` (e.g. `phase.aeration`, `phase.fill or phase.aeration`, `level > 20`): the limits apply only while it is true; while its tags are not Good the bar says the limits are not applied.'),
          })
          .strict(),
      )
      .default([])
      .describe('Analog bars with their limits.'),
    values: z.array(tagRef).default([]).describe('Tags listed with their values.'),
    phases: z
      .object({
        selector: tagRef.optional().describe("The tag whose value (1..n) picks which of each step's duration tags applies."),
        stopped: tagRef.optional().describe('A boolean tag, true while the sequence is stopped.'),
        steps: z
          .array(
            z
              .object({
                label: displayText().describe("The step's name."),
                active: tagRef.describe('A boolean tag, true while the step runs.'),
                elapsed: tagRef.describe("The step's elapsed time."),
                durations: z.array(tagRef).min(1).describe('Its planned duration: one tag per program (program 1 first), or one.'),
              })
              .strict(),
          )
          .min(1)
          .describe('The steps, in order.'),
      })
      .strict()
      .optional()
      .describe('A sequence of phases (a batch cycle): the running step, elapsed and planned times.'),
    alarms: z.array(tagRef).default([]).describe('Boolean tags that are alarms while true (until the alarm configuration arrives).'),
    events: z.array(tagRef).default([]).describe('Boolean tags whose changes are listed as events.'),
  })
  .strict()
  .describe('A dashboard: analog bars with their limits, values, a sequence of phases, alarm and event tags.');

export const mimicPageSchema = z
  .object({
    kind: z.literal('mimic').describe('A process mimic.'),
    title: displayText().describe('Its title, also its label in the navigation (a single mimic is "Mimic").'),
    drawing: z.string().describe('The SVG file, relative to the configuration file; scripts, event handlers and outside references are removed.'),
    bindings: z
      .array(
        z
          .object({
            element: z.string().min(1).describe('The id of the SVG element.'),
            tag: tagRef.describe('The tag it shows.'),
            as: z
              .enum(['level', 'text', 'running', 'open', 'alarm', 'instrument'])
              .describe(
                "level: scales the element's height over `range` (bottom-anchored); text: writes the value with its unit; running: filled when true, outline when false (several: running while any is true); open: a valve drawn open when true; alarm: abnormal colour and marker when true; instrument: the element is the tag's instrument (a probe), drawn by its quality. An element's first binding names the tag whose faceplate it opens.",
              ),
            range: z.tuple([z.number(), z.number()]).optional().describe("For level: the values at empty and full. Default the tag's range, else [0, 100]."),
          })
          .strict(),
      )
      .min(1)
      .describe('Elements of the drawing bound to tags.'),
  })
  .strict()
  .describe('A process mimic: an SVG drawing whose elements (by id) are bound to tags.');

export const pageSchema = z.discriminatedUnion('kind', [dashboardPageSchema, mimicPageSchema]);
export type PageConfig = z.infer<typeof pageSchema>;

/** A condition (src/config/conditions.ts). */
export const conditionSchema = z
  .preprocess(
    (v) => (typeof v === 'string' ? { check: v } : v),
    z
      .object({
        check: z.string().min(1).max(1000),
        message: z.string().min(1).max(300).optional(),
      })
      .strict(),
  )
  .meta({ format: 'condition' })
  .describe('Its text (at most 1000 characters), or `{check, message}` where the message (at most 300) tells a refused operator why.');
export type ConditionEntry = z.infer<typeof conditionSchema>;
const conditionName = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'expected a name of letters, digits, "_" or "-", starting with a letter');

/** "$name": the value of the command's parameter `name`. */
const paramRef = z
  .string()
  .regex(/^\$[A-Za-z_][A-Za-z0-9_]*$/, 'expected a number, true/false, or a parameter such as $program')
  .meta({ format: 'parameter' });
const commandValue = z.union([z.number(), z.boolean(), paramRef]);
/** A tag name, where {name} stands for the value of an integer parameter (e.g. program{program}.fill). */
const tagTemplate = z.string().min(1).meta({ format: 'tag template' });

export const commandSchema = z
  .object({
    label: displayText(z.string().min(1)).describe('What the button says, e.g. "Start program".'),
    description: displayText().default('').describe('A longer explanation, shown in the confirmation dialog.'),
    confirmation: displayText(z.string().min(1)).describe('The confirmation dialog\'s question; {param} is replaced by its value, e.g. "Start program {program}?".'),
    role: z.enum(ROLES).default('operator').describe('The lowest role allowed (a higher role may too); it must reach every written tag\'s `writable.roles`.'),
    critical: z.boolean().default(false).describe('Select-before-operate: the server checks the command and holds it while the operator confirms, with their password again.'),
    expiry: duration.default(5000).describe('A command not sent within this time after the request is never sent.'),
    params: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a parameter name of letters, digits and "_"'),
        z
          .object({
            label: displayText().optional().describe('Its label in the HMI. Default its name.'),
            tag: tagTemplate.optional().describe("Take the type and range from this tag's writable limits."),
            min: z.number().optional().describe('The lowest value accepted (needed without `tag`).'),
            max: z.number().optional().describe('The highest value accepted (needed without `tag`).'),
            integer: z.boolean().default(false).describe('Whole numbers only; needed to use it as {name} in a tag name.'),
          })
          .strict(),
      )
      .default({})
      .describe('The values an operator gives, by name: `$name` in a step, {name} in a tag name or the confirmation.'),
    steps: z
      .array(
        z.union([
          z
            .object({
              set: tagTemplate.describe('Writes one tag…'),
              value: commandValue.describe('…this value: a number, true/false or a parameter ($name).'),
            })
            .strict(),
          z
            .object({
              block: z.array(tagTemplate).min(1).describe('Writes tags at consecutive addresses of one area in one request…'),
              values: z.array(commandValue).min(1).describe('…these values, one per tag.'),
            })
            .strict(),
          z.object({ pulse: tagTemplate.describe('Sets a coil; the PLC clears it (within 2 s) to show it acted.') }).strict(),
        ]),
      )
      .min(1)
      .describe('The writes, in order, all to one device; each step is one of the three forms below.'),
    expect: z
      .object({
        tag: tagTemplate.describe('The tag read back…'),
        equals: commandValue.describe('…must equal this…'),
        within: duration.default(3000).describe('…within this time.'),
      })
      .strict()
      .optional()
      .describe('The PLC took the command when this tag equals this value within the time (else: not accepted).'),
    requires: z
      .record(conditionName, conditionSchema)
      .default({})
      .describe(
        'Preconditions, by name: the command is refused, before anything is written, unless each holds on the values the PLC holds (e.g. no emergency stop). Checked by the web on the live values and by the poller on values read right before writing.',
      ),
    relations: z
      .record(conditionName, conditionSchema)
      .default({})
      .describe("Relations, by name, the values must keep once written (with the PLC's other values), e.g. a minimum below its maximum."),
  })
  .strict()
  .describe('An operator command, by name: what it writes, who may send it, what must hold first, how its effect is read back.');

export type CommandConfig = z.infer<typeof commandSchema>;

export const PRIORITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const alarmSchema = z
  .object({
    tag: tagRef.describe('The tag watched: boolean for a digital alarm, numeric for an analog one.'),
    message: displayText(z.string().min(1)).describe('What the alarm says in the banner, the summary and the journal.'),
    priority: z.enum(PRIORITIES).describe("How urgent: it orders the summary and sets the alarm's colour and mark, its sound and its shelving rule."),
    activeWhen: z.boolean().optional().describe('Digital: active while the tag equals this. Default true.'),
    condition: z.enum(['high', 'highhigh', 'low', 'lowlow']).optional().describe('Analog: high and highhigh are active above the limit, low and lowlow below.'),
    limit: z.union([z.number(), tagRef]).optional().describe('Analog: the limit, a number or a numeric tag.'),
    deadband: z.number().min(0).default(0).describe('An active analog alarm clears only once the value is back past the limit by this much.'),
    onDelay: delay.default(0).describe('The condition must hold this long before the alarm activates.'),
    offDelay: delay.default(0).describe('The condition must be gone this long before the alarm returns to normal.'),
    enabledWhen: tagRef.optional().describe('Suppressed by design while this boolean tag is false (e.g. a discharge limit).'),
  })
  .strict()
  .describe(
    'An alarm (ISA-18.2), by name: digital — a boolean tag active while it equals `activeWhen` — or analog — a numeric tag against a limit (a number or a tag) with a deadband; both with on/off delays and an optional condition outside which the alarm is suppressed by design.',
  );
export type AlarmConfig = z.infer<typeof alarmSchema>;

/** Who may shelve an alarm of one priority, and for how long at most. */
const shelvingRule = z
  .object({
    max: duration
      .refine((ms) => ms >= 60_000 && ms <= 86_400_000, 'expected a duration between 1m and 24h')
      .optional()
      .describe('The longest an alarm of this priority may be shelved (a shelved alarm always comes back).'),
    role: z.enum(['operator', 'engineer', 'admin']).optional().describe('The lowest role that may shelve it.'),
  })
  .strict();

export type ShelvingPolicy = Record<Priority, { maxMs: number; role: Role }>;

/** The defaults: a critical alarm (an emergency stop) is shelved by an engineer, for an hour at most; others by an operator, for a day at most. */
export const DEFAULT_SHELVING: Readonly<ShelvingPolicy> = {
  critical: { maxMs: 3_600_000, role: 'engineer' },
  high: { maxMs: 86_400_000, role: 'operator' },
  medium: { maxMs: 86_400_000, role: 'operator' },
  low: { maxMs: 86_400_000, role: 'operator' },
};

export const shelvingSchema = z
  .object(
    Object.fromEntries(
      PRIORITIES.map((p) => [p, shelvingRule.optional().describe(`Alarms of priority ${p}. Default: at most ${DEFAULT_SHELVING[p].maxMs / 3_600_000}h, by ${DEFAULT_SHELVING[p].role} and above.`)]),
    ) as Record<Priority, z.ZodOptional<typeof shelvingRule>>,
  )
  .strict()
  .describe('Shelving by priority (ISA-18.2: shelving is time-limited and controlled); what is left out keeps its default.');
export type ShelvingConfig = z.infer<typeof shelvingSchema>;

export const eventSchema = z
  .object({
    tag: tagRef.describe('A boolean tag.'),
    message: displayText(z.string().min(1)).describe("The journal's text."),
    when: z.boolean().default(true).describe('Log when the tag becomes this value.'),
  })
  .strict()
  .describe('An event for the journal, by name: a boolean tag becoming true (e.g. a phase starting).');
export type EventConfig = z.infer<typeof eventSchema>;

/** A size in bytes ("64KiB", "1MiB", 65536) of at least `min`. */
function bytes(min: number, message: string) {
  return z
    .union([z.number(), z.string()])
    .transform((v, ctx) => {
      const m = typeof v === 'number' ? null : /^\s*(\d+(?:\.\d+)?)\s*(B|kB|KiB|MB|MiB|GB|GiB)?\s*$/.exec(v);
      const units: Record<string, number> = { B: 1, kB: 1e3, KiB: 1024, MB: 1e6, MiB: 1024 ** 2, GB: 1e9, GiB: 1024 ** 3 };
      const n = typeof v === 'number' ? v : m ? Math.round(Number(m[1]) * units[m[2] ?? 'B']!) : NaN;
      if (!Number.isFinite(n) || n < min) {
        ctx.addIssue({ code: 'custom', message });
        return z.NEVER;
      }
      return n;
    })
    .meta({ format: 'size', minimum: min });
}

/** An IPv4 or IPv6 address, or a network in CIDR notation (10.0.0.0/8, fd00::/8). */
const addressOrNetwork = z
  .string()
  .refine((v) => {
    const [address, bits, ...rest] = v.split('/');
    const family = isIP(address ?? '');
    if (family === 0 || rest.length > 0) return false;
    return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
  }, 'expected an IP address or a network such as 10.0.0.0/8')
  .meta({ format: 'address' });

export const limitsSchema = z
  .object({
    connections: int(1, 1_000_000).default(1024).describe('Open connections in all; past this, 503 PLANTA_LIMIT_CONNECTIONS.'),
    connectionsPerIp: int(1, 1_000_000).default(128).describe('Open connections from one address (a trusted proxy is not counted as one client); at most `connections`.'),
    streams: int(1, 1_000_000).default(256).describe('Live streams (/api/stream) in all; past this, 503 PLANTA_LIMIT_STREAMS. At most `connections`.'),
    streamsPerIp: int(1, 1_000_000).default(16).describe('Live streams of one client; past this, 429 PLANTA_LIMIT_STREAMS_PER_CLIENT. At most `streams`.'),
    bodyBytes: bytes(1024, 'expected a size of at least 1KiB such as 16KiB')
      .default(16 * 1024)
      .describe('Request body of an ordinary route; sign-in takes less, commands and acknowledgements more (see security.md).'),
    headersTimeout: duration.default(10_000).describe("A client must send its request's headers within this; at most `requestTimeout`."),
    requestTimeout: duration.default(30_000).describe('...and the whole request, body included, within this.'),
    idleTimeout: duration.default(60_000).describe('A connection on which nothing moves, either way, is closed after this.'),
    keepAliveTimeout: duration.default(5_000).describe('An idle kept-alive connection between two requests is closed after this.'),
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
  })
  .describe(
    "What one web node accepts at once, and how long it waits for a client (src/web/limits.ts). Per client: the client's address (behind a trusted proxy, the one the proxy names).",
  );
export type LimitsConfig = z.infer<typeof limitsSchema>;

export const securitySchema = z
  .object({
    anonymous: z.enum(['none', 'local', 'any']).default('none').describe('Viewer access without login: none, requests from this machine (local), or anyone.'),
    sessionIdle: duration.default(30 * 60_000).describe('A session unused for this long ends.'),
    sessionMax: duration.default(12 * 3_600_000).describe('A session ends this long after sign-in, used or not.'),
    tls: z
      .object({
        cert: z.string().min(1).describe('The certificate (chain), PEM.'),
        key: z.string().min(1).describe('Its private key, PEM.'),
      })
      .strict()
      .optional()
      .describe('PEM files, relative to the configuration file: served over HTTPS when given.'),
    trustProxy: z
      .array(addressOrNetwork)
      .default([])
      .describe(
        'The reverse proxies in front of Planta (addresses or networks). Only a request from one of them is believed when its X-Forwarded-For names the client; with any proxy here, `anonymous: local` lets nobody in.',
      ),
    limits: limitsSchema.prefault({}),
    commandRetention: duration
      .refine((ms) => ms >= 3_600_000, 'expected at least 1h, e.g. 7d')
      .default(7 * 86_400_000)
      .describe("How long command ids and outcomes are kept after a command's expiry: an id is refused again (and its outcome answered) for that long."),
  })
  .strict()
  .describe('Who may see without signing in, session lifetimes, TLS, the proxies in front, and the limits.');
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
  })
  .meta({ format: 'retention', exclusiveMinimum: 0 });

/** A numeric tag or a number, for the limits of the cycle report. */
const tagOrNumber = z.union([tagRef, z.number()]);

export const cycleSchema = z
  .object({
    label: displayText().default('Cycle').describe('What a cycle is called in the report.'),
    program: tagRef.optional().describe("The tag whose value (1..n) picks which of each phase's planned durations applies."),
    plannedUnit: z.enum(['s', 'min', 'h']).default('min').describe('The unit of the planned-duration tags.'),
    tolerance: delay.default(60_000).describe('A phase longer than planned by more than this is an anomaly.'),
    phases: z
      .array(
        z
          .object({
            name: displayText(z.string().min(1)).describe("The phase's name (the plain or English one is how `oxygen.phase` and `turbidity.phase` name it)."),
            active: tagRef.describe('A boolean tag, true while the phase runs.'),
            planned: z.array(tagRef).default([]).describe('Planned duration tags, one per program (program 1 first); one tag if there is no program selector.'),
            elapsed: tagRef
              .optional()
              .describe(
                "The PLC's own count of the phase's time, in plannedUnit: the actual duration is its highest value from the phase's start until the next cycle — the plant's clock (also right for an accelerated simulator). A PLC may keep a finished phase's count or reset it; the last step lands in the scan that ends the phase. Without it: wall-clock time.",
              ),
          })
          .strict(),
      )
      .min(1)
      .describe('The phases, in order.'),
    oxygen: z
      .object({
        tag: tagRef.describe('The dissolved-oxygen tag.'),
        phase: z.string().min(1).describe('The phase it is measured in.'),
        min: tagOrNumber.optional().describe('Below this (a tag or a number) is an anomaly.'),
        max: tagOrNumber.optional().describe('Above this is an anomaly.'),
      })
      .strict()
      .optional()
      .describe('Dissolved oxygen during a phase: mean and minimum, and an anomaly outside [min, max].'),
    turbidity: z
      .object({
        tag: tagRef.describe('The turbidity tag.'),
        phase: z.string().min(1).describe('The phase it is measured in.'),
        max: tagOrNumber.optional().describe('Above this (a tag or a number) is an anomaly.'),
      })
      .strict()
      .optional()
      .describe('Turbidity during a phase: its mean, and an anomaly above max.'),
    volume: z
      .object({
        tag: tagRef.describe('The counter tag.'),
        wrap: z.number().positive().optional().describe('The counter goes back to 0 at this value (e.g. 65536).'),
      })
      .strict()
      .optional()
      .describe('A volume counter: the volume treated is its increase over the cycle.'),
  })
  .strict()
  .describe(
    'A batch process cycle for the cycle report (e.g. the SBR: aerated fill, aeration, settling, discharge). A cycle starts when the first phase becomes active and ends when the last phase ends (or the next cycle starts, or every phase is inactive).',
  );
export type CycleConfig = z.infer<typeof cycleSchema>;

/** A size in bytes: a number, or "512MiB", "2GiB", "100MB"... */
const size = bytes(1024 * 1024, 'expected a size of at least 1MiB such as 256MiB or 2GiB');

export const historianStoreSchema = z
  .object({
    kind: z.enum(['sqlite', 'postgres']).default('sqlite').describe('An SQLite file (in data/), or a PostgreSQL database.'),
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\/\S+$/, 'expected postgres://USER@HOST:PORT/DATABASE')
      .default('postgres://127.0.0.1:5432/planta')
      .describe('The PostgreSQL database (kind postgres).'),
    schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a schema name of lower-case letters, digits and _ (at most 63)')
      .default('planta')
      .describe("The PostgreSQL schema of Planta's tables, created if missing."),
    buffer: z.string().min(1).optional().describe('The store-and-forward file. Default: history-buffer.db beside the SQLite history file (data/).'),
    bufferSize: size.default(256 * 1024 * 1024).describe('Past this size the buffer drops its oldest samples; drained, the file shrinks back.'),
  })
  .strict()
  .describe(
    'Where the historian keeps its data: an SQLite file (the default), or a PostgreSQL database (a schema of its own, created if missing) with a local store-and-forward buffer. The environment\'s PLANTA_HISTORIAN_URL overrides it (a postgres:// URL, or `sqlite`).',
  );
export type HistorianStoreConfig = z.infer<typeof historianStoreSchema>;

export const historianSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Whether values are recorded at all.'),
    maxInterval: duration.default(60_000).describe("A tag's unchanged value is recorded again after this long."),
    intervals: z.record(tagRef, duration).default({}).describe('Per-tag maximum intervals: tag → duration.'),
    retention: z
      .object({
        raw: retention.default(90 * 86_400_000).describe('How long every recorded change is kept.'),
        minute: retention.default(2 * 365 * 86_400_000).describe('How long the minute rollups are kept.'),
        hour: retention.default(null).describe('How long the hour rollups are kept.'),
      })
      .strict()
      .default({ raw: 90 * 86_400_000, minute: 2 * 365 * 86_400_000, hour: null })
      .describe('How long each resolution is kept.'),
    cycles: cycleSchema.optional(),
    store: historianStoreSchema.optional(),
  })
  .strict()
  .describe('The historian: what it keeps, how long, and the cycle report.');
export type HistorianConfig = z.infer<typeof historianSchema>;

export const busSchema = z
  .object({
    kind: z.enum(['memory', 'redis']).default('memory').describe('memory: one process (`planta start`); redis: separate processes.'),
    url: z
      .string()
      .regex(/^rediss?(-sentinel)?:\/\/\S+$/, 'expected redis://HOST:PORT (rediss:// for TLS) or redis-sentinel://HOST:PORT,HOST:PORT,…/MASTER_NAME')
      .default('redis://127.0.0.1:6379')
      .describe('The Redis server (kind redis), or the sentinels that name its master: redis-sentinel://HOST:PORT,HOST:PORT,HOST:PORT/MASTER_NAME (docs/high-availability.md).'),
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'expected 1 to 64 letters, digits, _ . : or -')
      .optional()
      .describe('Start of every key and channel, so that several plants share one Redis. Default: planta:<plant name>:'),
    lease: delay
      .refine((ms) => ms >= 300 && ms <= 600_000, 'expected a duration between 300ms and 10m, e.g. 5s')
      .default(5000)
      .describe("How long a poller's device lease lasts: a standby poller takes a device over this long after its holder died."),
    outbox: z
      .string()
      .min(1)
      .optional()
      .describe(
        "A poller's outbox (store-and-forward): samples it could not hand to Redis wait in this SQLite file, relative to the working directory. Default data/outbox-<devices>.db.",
      ),
    outboxSize: size.default(256 * 1024 * 1024).describe("The outbox's size: past it, its oldest samples are dropped; drained, the file shrinks back."),
    historyBacklog: delay
      .refine((ms) => ms >= 10_000 && ms <= 86_400_000, 'expected a duration between 10s and 24h, e.g. 10m')
      .default(600_000)
      .describe('How long the samples streams in Redis keep what no historian took (Redis memory ≈ change rate × this).'),
  })
  .strict()
  .describe(
    "The bus Planta's processes meet on: in memory (one process: `planta start`, the default) or Redis (separate processes: poll, web, alarms, historian). The environment's PLANTA_BUS_URL overrides it.",
  );
export type BusConfig = z.infer<typeof busSchema>;

/** A secret named, never written: an environment variable or a file (first line; a credentials file: user, then password). */
const SECRET_MESSAGE = 'expected env:VARIABLE or file:PATH (secrets are never written in the configuration)';
const secretRef = z
  // A map (user: …, password: …) or a number is a secret written in clear too: the same answer.
  .string({ error: SECRET_MESSAGE })
  .regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:\S.*)$/, SECRET_MESSAGE)
  .meta({ format: 'secret' });

const email = z.string().regex(/^[^\s@<>]+@[^\s@<>]+$/, 'expected an e-mail address such as oncall@example.org');

const secretUrl = /^(https?:\/\/\S+|env:[A-Za-z_][A-Za-z0-9_]*|file:\S.*)$/;

/**
 * Webhook URLs that are secrets themselves (whoever has one can post to the channel): Slack's incoming webhooks,
 * Teams' connectors and workflows. Written in clear they are refused, as a password would be.
 */
const SECRET_WEBHOOK_HOSTS = /^https?:\/\/([^/]*\.)?(hooks\.slack\.com|webhook\.office\.com|logic\.azure\.com|api\.powerplatform\.com)(:\d+)?\//i;

/** Why a webhook URL written in the configuration is refused, if it is: a user or password in it, or a URL that is a secret. */
function webhookInClear(url: string): string | undefined {
  if (/^https?:\/\/[^/@]*@/i.test(url)) return 'a user or password in the URL is a secret written in clear: give the whole URL as env:VARIABLE or file:PATH';
  if (SECRET_WEBHOOK_HOSTS.test(url)) return 'a Slack or Teams webhook URL is itself a secret: give it as env:VARIABLE or file:PATH, not in the configuration';
  return undefined;
}

/** The languages of the notifications' words (src/notify/words.ts). */
export const NOTIFY_LANGUAGES = ['es', 'es-AR', 'en'] as const;
// es-AR as the configuration's texts spell it; the messages have one Spanish.
const notifyLanguage = z.enum(NOTIFY_LANGUAGES).transform((l) => (l === 'es-AR' ? 'es' : l));

/** The fields of each kind of channel, to say which fields a channel of the other kind may not have. */
const MAIL_FIELDS = ['smtp', 'from', 'to', 'credentials', 'tls'] as const;
const WEBHOOK_FIELDS = ['webhook', 'format', 'secret', 'timeout'] as const;

export const channelSchema = z
  .object({
    smtp: z
      .string()
      .regex(/^smtps?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?\/?$/, 'expected smtp://HOST:PORT or smtps://HOST:PORT, without user or password (see credentials)')
      .optional()
      .describe('Mail: the server, smtp://HOST:587 (STARTTLS) or smtps://HOST:465 (TLS from the start). A channel has smtp or webhook.'),
    from: email.optional().describe('Mail: the sender address.'),
    to: z.array(email).min(1).optional().describe('Mail: the recipients.'),
    credentials: secretRef
      .optional()
      .describe('Mail: where the SMTP user and password are, env:PREFIX (PREFIX_USER and PREFIX_PASSWORD) or file:PATH (user on the first line, password on the second). Absent: no authentication (a local relay).'),
    tls: z
      .enum(['required', 'none'])
      .optional()
      .describe('Mail: required (the default) — smtp:// must upgrade with STARTTLS (smtps:// is TLS throughout) and the certificate must be valid; none — plain SMTP, for a relay on this machine or its own network only.'),
    webhook: z
      .string()
      .regex(secretUrl, 'expected an http(s):// URL, or env:VARIABLE / file:PATH holding it (a Slack or Teams URL is itself a secret)')
      .optional()
      .describe('Webhook: where the JSON is POSTed, an http(s):// URL, or env:VARIABLE / file:PATH holding it (Slack and Teams URLs are secrets).'),
    format: z.enum(['json', 'slack', 'teams']).optional().describe("Webhook: the body, json (Planta's fields, the default), slack (an incoming webhook's text) or teams (a Teams workflow's message card)."),
    secret: secretRef.optional().describe('Webhook: signs each body with HMAC-SHA256 under this key (env:VARIABLE or file:PATH), sent as the header X-Planta-Signature: sha256=HEX.'),
    timeout: duration.optional().describe('Webhook: a POST without an answer within this has failed and is retried. Default 10s.'),
    onCall: z.string().max(200).optional().describe('Who this channel reaches, in words (e.g. "night shift: +54 11 5555-0000"): the message says who is on call.'),
    language: notifyLanguage.optional().describe("This channel's language: es (es-AR is the same) or en. Default notifications.language."),
  })
  .strict()
  .superRefine((c, ctx) => {
    const has = (fields: readonly string[]): string[] => fields.filter((f) => (c as Record<string, unknown>)[f] !== undefined);
    if (c.smtp === undefined && c.webhook === undefined) ctx.addIssue({ code: 'custom', path: [], message: 'expected smtp: (mail) or webhook:' });
    if (c.smtp !== undefined && c.webhook !== undefined) ctx.addIssue({ code: 'custom', path: ['webhook'], message: 'a channel is mail (smtp:) or a webhook, not both' });
    else if (c.smtp !== undefined) {
      for (const f of ['from', 'to'] as const) if (c[f] === undefined) ctx.addIssue({ code: 'custom', path: [f], message: 'is required for a mail channel' });
      for (const f of has(WEBHOOK_FIELDS)) ctx.addIssue({ code: 'custom', path: [f], message: 'is a webhook field; this is a mail channel' });
    } else if (c.webhook !== undefined) {
      const clear = webhookInClear(c.webhook);
      if (clear) ctx.addIssue({ code: 'custom', path: ['webhook'], message: clear });
      for (const f of has(MAIL_FIELDS)) ctx.addIssue({ code: 'custom', path: [f], message: 'is a mail field; this is a webhook channel' });
    }
  })
  .describe('A channel: mail (smtp, from, to) or a webhook (webhook).');

export const notificationRuleSchema = z
  .object({
    priorities: z.array(z.enum(PRIORITIES)).min(1).default([...PRIORITIES]).describe('The priorities of the alarms this rule notifies.'),
    alarms: z.array(z.string().min(1)).optional().describe('Only these alarms (ids; a trailing * matches a prefix, e.g. comm.*). Default every alarm of the priorities.'),
    channels: z.array(z.string().regex(NAME, nameMessage)).min(1).describe('The channels an activation goes to.'),
    hours: z
      .string()
      .refine((s) => hoursProblem(s) === undefined, 'expected hours such as "Mon-Fri 07:00-19:00" or "22:00-06:00; Sat,Sun 00:00-24:00"')
      .optional()
      .describe('Only alarms raised within these hours of the plant\'s time zone (days Mon..Sun, spans separated by ";"). Default always.'),
    escalate: z
      .object({
        after: duration.describe('An alarm still unacknowledged this long after it was raised goes to the escalation channels.'),
        channels: z.array(z.string().regex(NAME, nameMessage)).min(1).describe('The escalation channels.'),
      })
      .strict()
      .optional()
      .describe('Escalation; acknowledging the alarm stops it.'),
    onClear: z.boolean().default(false).describe('Also notify the return to normal of the alarms it notified.'),
  })
  .strict()
  .describe('Which alarms go to which channels.');

export const notificationsSchema = z
  .object({
    channels: z.record(z.string().regex(NAME, nameMessage), channelSchema).default({}).describe('Where notifications go, by name: mail (smtp) or webhook.'),
    rules: z.array(notificationRuleSchema).default([]).describe('Which alarms are notified where; an alarm matching several rules goes to each of their channels once.'),
    hmiUrl: z
      .string()
      .regex(/^https?:\/\/\S+$/, 'expected the HMI\'s address as its users reach it, e.g. https://scada.example.org')
      .optional()
      .describe('The HMI\'s address as the recipients reach it: messages link to the alarm there (acknowledging still needs signing in). Absent: `planta start` links to its own web server (localhost, or this machine\'s name with --host 0.0.0.0); `planta alarms` sends no link.'),
    language: notifyLanguage
      .default('en')
      .describe("The language of the messages, es (es-AR is the same; Spanish: the alarms' Spanish messages, dates as 07/12/2026 14:32:05, decimal comma) or en. A channel's own `language:` overrides it. Machine fields of the JSON webhooks (names, kind, priority, state, quality) stay as they are."),
    late: duration.default(15 * 60_000).describe('A notification sent this long after its alarm (an outage of the mail server, a restart) is marked late, never dropped.'),
    retry: z
      .object({
        first: duration.default(5000).describe('The wait before the first retry of a failed sending.'),
        max: duration.default(10 * 60_000).describe('The longest wait between retries (each wait doubles up to it).'),
      })
      .strict()
      .default({ first: 5000, max: 10 * 60_000 })
      .describe('Retries of a channel that failed: exponential backoff, in order, until sent.'),
    chatter: z
      .object({
        count: int(2, 100).default(3).describe('This many activations of one alarm within `window` make it chattering (ISA-18.2: 3 in a minute).'),
        window: duration.default(60_000).describe('The window of a chattering alarm: after a notification, its repeats within it are held and sent as one digest at its end.'),
      })
      .strict()
      .default({ count: 3, window: 60_000 })
      .describe('A chattering alarm is sent once, then summarised in a digest.'),
    flood: z
      .object({
        count: int(2, 10_000).default(10).describe('More than this many notified activations within `window` are a flood.'),
        window: duration.default(10 * 60_000).describe('The window of a flood.'),
        collect: duration.default(60_000).describe('A flood is reported this long after it began: one message with the count and the first alarms.'),
      })
      .strict()
      .default({ count: 10, window: 10 * 60_000, collect: 60_000 })
      .describe('An alarm flood becomes one message.'),
    outbox: z.string().min(1).optional().describe('The outbox (an SQLite file) where notifications wait until sent. Default: beside the alarm database (planta.db → planta.notify.db).'),
    outboxSize: size.default(64 * 1024 * 1024).describe('The outbox\'s size: past it the oldest waiting notifications are dropped (logged and counted).'),
  })
  .strict()
  .superRefine((n, ctx) => {
    const names = Object.keys(n.channels);
    n.rules.forEach((r, i) => {
      const check = (list: string[], path: (string | number)[]): void =>
        list.forEach((c, j) => {
          if (!names.includes(c)) ctx.addIssue({ code: 'custom', path: ['rules', i, ...path, j], message: `unknown channel "${c}" (channels: ${names.join(', ') || 'none'})` });
        });
      check(r.channels, ['channels']);
      if (r.escalate) check(r.escalate.channels, ['escalate', 'channels']);
    });
    if (n.retry.first > n.retry.max) ctx.addIssue({ code: 'custom', path: ['retry', 'first'], message: 'the first wait is longer than the longest (retry.max)' });
  })
  .describe('Alarm notifications by mail and webhooks (docs/notifications.md): channels, the rules that pick alarms for them, escalation, and the outbox that keeps them until sent.');
export type NotificationsConfig = z.infer<typeof notificationsSchema>;
export type ChannelConfig = z.infer<typeof channelSchema>;
export type NotificationRule = z.infer<typeof notificationRuleSchema>;

export const SECTIONS = ['plant', 'security', 'historian', 'bus', 'links', 'devices', 'tags', 'alarms', 'shelving', 'events', 'commands', 'relations', 'pages', 'notifications', 'northbound'] as const;
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
  links: Record<string, RawLink>;
  devices: Record<string, RawDevice>;
  tags: Record<string, RawTag>;
  alarms: Record<string, AlarmConfig>;
  shelving: ShelvingConfig;
  events: Record<string, EventConfig>;
  commands: Record<string, CommandConfig>;
  /** Relations between tags every command writing one of them must keep (src/config/conditions.ts). */
  relations: Record<string, ConditionEntry>;
  pages: Record<string, PageConfig>;
  notifications: NotificationsConfig;
  northbound: NorthboundConfig;
}
