/**
 * The `northbound:` section's schema: Planta's values for the rest of the
 * enterprise, as a Sparkplug B edge node on an MQTT broker and as an OPC UA
 * server (docs/northbound.md). Both are off unless configured, and both are
 * read-only unless `commands:` maps a metric or a node to a configured
 * operator command. The rules between this section and the commands are in
 * northbound.ts.
 */
import { z } from 'zod';
import { duration } from './durations.js';

const ROLE_NAMES = ['viewer', 'operator', 'engineer', 'admin'] as const;

/** A Sparkplug B id (group, edge node, host): MQTT topic levels, so no "/", "+" or "#". */
const sparkplugId = z
  .string()
  .regex(/^[^/+#\s]{1,64}$/, 'expected 1 to 64 characters without "/", "+", "#" or spaces (a Sparkplug id is an MQTT topic level)');

/** A size in bytes ("64MiB", 1048576) of at least 1 MiB. */
const size = z
  .union([z.number(), z.string()])
  .transform((v, ctx) => {
    const units: Record<string, number> = { B: 1, kB: 1e3, KiB: 1024, MB: 1e6, MiB: 1024 ** 2, GB: 1e9, GiB: 1024 ** 3 };
    const m = typeof v === 'number' ? null : /^\s*(\d+(?:\.\d+)?)\s*(B|kB|KiB|MB|MiB|GB|GiB)?\s*$/.exec(v);
    const n = typeof v === 'number' ? v : m ? Math.round(Number(m[1]) * units[m[2] ?? 'B']!) : NaN;
    if (!Number.isFinite(n) || n < 1024 * 1024) {
      ctx.addIssue({ code: 'custom', message: 'expected a size of at least 1MiB such as 64MiB' });
      return z.NEVER;
    }
    return n;
  })
  .meta({ format: 'size', minimum: 1024 * 1024 });

const secretRef = z
  .string()
  .regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:\S.*)$/, 'expected env:PREFIX or file:PATH (secrets are never written in the configuration)')
  .meta({ format: 'secret' });

/** A write from MQTT or OPC UA, mapped to a configured operator command. */
export const northboundCommandSchema = z
  .object({
    command: z.string().min(1).describe('The configured command (commands:) the write runs, with its validation, role, expiry, read-back and audit. Critical commands (select before operate) cannot be mapped.'),
    param: z
      .string()
      .min(1)
      .optional()
      .describe("The command's parameter the written value fills. Absent for a command without parameters: writing true runs it, anything else is refused."),
    role: z
      .enum(ROLE_NAMES)
      .default('operator')
      .describe("MQTT: the role the write is made with; it must be allowed to run the command (the command's role or above). OPC UA writes are made with the signed-in user's own role."),
  })
  .strict()
  .describe('A write mapped to an operator command.');
export type NorthboundCommandConfig = z.infer<typeof northboundCommandSchema>;

export const sparkplugSchema = z
  .object({
    broker: z
      .string()
      .regex(/^(mqtts?|wss?):\/\/[^\s@/]+(\/\S*)?$/, 'expected mqtt://HOST:PORT, mqtts://HOST:PORT (TLS) or ws(s)://HOST:PORT/PATH, without user or password (see credentials)')
      .describe('The MQTT broker: mqtt://HOST:1883, mqtts://HOST:8883 (TLS), or ws(s)://HOST/PATH.'),
    credentials: secretRef
      .optional()
      .describe('Where the MQTT user name and password are: env:PREFIX (PREFIX_USER and PREFIX_PASSWORD) or file:PATH (user on the first line, password on the second). Absent: no authentication.'),
    clientId: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'expected 1 to 64 letters, digits, _ . : or -').optional().describe('The MQTT client id. Default planta-<group>-<node>.'),
    group: sparkplugId.default('Planta').describe('The Sparkplug group id.'),
    node: sparkplugId.optional().describe("The Sparkplug edge node id. Default: the plant's name in lower case, spaces as -."),
    primaryHost: sparkplugId
      .optional()
      .describe('The primary host application id: its STATE (spBv1.0/STATE/<id>) is followed; while it is offline data is stored and sent in order when it is back. Absent: data is sent whenever the broker is connected.'),
    keepalive: duration.default(30_000).describe('The MQTT keep-alive: the broker publishes the NDEATH (the will) this long (×1.5) after the edge node fell silent.'),
    store: z.string().min(1).default('data/sparkplug.db').describe('The store-and-forward file (SQLite): data that could not be sent (broker away, primary host offline) waits here, in order.'),
    storeSize: size.default(64 * 1024 * 1024).describe('The store\'s size: past it the oldest stored data is dropped (logged and counted).'),
    commands: z
      .record(z.string().min(1), northboundCommandSchema)
      .default({})
      .describe('Writes allowed from MQTT, by metric name (as in the DBIRTH, e.g. setpoint/do or Commands/silence_horn): a DCMD/NCMD on any other metric is refused and audited.'),
  })
  .strict()
  .describe('The MQTT Sparkplug B edge node (docs/northbound.md).');
export type SparkplugConfig = z.infer<typeof sparkplugSchema>;

export const SECURITY_MODES = ['SignAndEncrypt', 'Sign', 'None'] as const;

export const opcuaSchema = z
  .object({
    host: z.string().min(1).default('0.0.0.0').describe('The address the OPC UA server binds.'),
    port: z.number().int().min(0).max(65535).default(4840).describe('Its TCP port (opc.tcp://HOST:4840).'),
    securityModes: z
      .array(z.enum(SECURITY_MODES))
      .min(1)
      .default(['SignAndEncrypt'])
      .describe('The message security modes offered, with the Basic256Sha256 policy. None sends passwords and values in clear: only on a trusted network.'),
    anonymous: z.boolean().default(false).describe("Lets clients browse and read without a user. Off by default: users sign in with Planta's users (planta user add)."),
    pki: z.string().min(1).default('data/opcua-pki').describe("The server's certificate and the trusted and rejected client certificates (planta opcua trust)."),
    commands: z
      .record(z.string().min(1), northboundCommandSchema)
      .default({})
      .describe('Writes allowed from OPC UA, by tag name (the node\'s path with "." between folders): a write to any other node is refused.'),
  })
  .strict()
  .describe('The OPC UA server (docs/northbound.md).');
export type OpcuaConfig = z.infer<typeof opcuaSchema>;

export const northboundSchema = z
  .object({
    sparkplug: sparkplugSchema.optional(),
    opcua: opcuaSchema.optional(),
  })
  .strict()
  .describe("Northbound interfaces (docs/northbound.md): Planta's values, device states and alarms for other systems, as an MQTT Sparkplug B edge node and an OPC UA server. Writes only through mapped operator commands.");
export type NorthboundConfig = z.infer<typeof northboundSchema>;
