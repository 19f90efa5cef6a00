/**
 * Planta as an OPC UA server (node-opcua): the tags as variables under
 * Objects/Planta, in folders from their names' prefixes (reactor.oxygen →
 * Planta/reactor/oxygen, node id ns=1;s=reactor.oxygen), each value with the
 * StatusCode of its quality (Planta's qualities are named after them) and its
 * source timestamp; numeric tags as AnalogItems with their engineering unit
 * and range. Subscriptions follow the bus: a value is set when the bus
 * publishes it. Alarm state changes are raised as events on the Server
 * object.
 *
 * Security: SignAndEncrypt with Basic256Sha256 by default, anonymous off,
 * users and roles from Planta's user store; a client's certificate must be
 * trusted (`planta opcua trust`). Variables are read-only unless `commands:`
 * maps them to a configured command; a write to one runs that command with
 * the signed-in user's own role, audited (src/northbound/commands.ts).
 */
import {
  type AddressSpace,
  DataType,
  type ISessionContext,
  MessageSecurityMode,
  type Namespace,
  OPCUACertificateManager,
  OPCUAServer,
  SecurityPolicy,
  type StatusCode,
  StatusCodes,
  type UAObject,
  type UAVariable,
  Variant,
  makeAccessLevelFlag,
  makeEUInformation,
  nodesets,
} from 'node-opcua';
import type { Registry } from 'prom-client';
import type { AlarmBus, AlarmState, Unsubscribe, ValueBus } from '../../bus/types.js';
import type { OpcuaConfig } from '../../config/northbound-schema.js';
import type { Role } from '../../config/schema.js';
import type { PlantConfig } from '../../config/resolve.js';
import type { Quality } from '../../tags/quality.js';
import type { TagDefinition, TagValue } from '../../tags/types.js';
import type { Logger } from '../../util/log.js';
import { readCounter, readGauge } from '../../util/metrics.js';
import type { NorthboundCommands } from '../commands.js';

/** Who may sign in: a user of Planta's store with their password and role (undefined: unknown, disabled or wrong password). */
export type UserCheck = (user: string, password: string) => Promise<{ user: string; role: Role } | undefined>;

export interface OpcuaServerOptions {
  config: OpcuaConfig;
  plant: PlantConfig;
  bus: ValueBus & AlarmBus;
  commands: NorthboundCommands;
  users: UserCheck;
  log?: Logger;
  registry?: Registry;
}

const STATUS: Record<Quality, StatusCode> = {
  Good: StatusCodes.Good,
  Uncertain_LastUsableValue: StatusCodes.UncertainLastUsableValue,
  Uncertain_EngineeringUnitsExceeded: StatusCodes.UncertainEngineeringUnitsExceeded,
  Bad_WaitingForInitialData: StatusCodes.BadWaitingForInitialData,
  Bad_NoCommunication: StatusCodes.BadNoCommunication,
  Bad_Timeout: StatusCodes.BadTimeout,
  Bad_DeviceFailure: StatusCodes.BadDeviceFailure,
  Bad_CommunicationError: StatusCodes.BadCommunicationError,
  Bad_ConfigurationError: StatusCodes.BadConfigurationError,
  Bad_OutOfService: StatusCodes.BadOutOfService,
};

/** The OPC UA StatusCode of a Planta quality (one to one: Planta names its qualities after them). */
export const statusOf = (q: Quality): StatusCode => STATUS[q];

const SEVERITY = { critical: 1000, high: 700, medium: 500, low: 200 } as const;

function dataTypeOf(t: TagDefinition): DataType {
  if (t.type === 'bool' || t.type === 'bit') return DataType.Boolean;
  if (t.type === 'string') return DataType.String;
  if (t.scale !== 1 || t.offset !== 0) return DataType.Double;
  return { int16: DataType.Int16, uint16: DataType.UInt16, int32: DataType.Int32, uint32: DataType.UInt32, float32: DataType.Float, float64: DataType.Double }[t.type];
}

export class PlantaOpcuaServer {
  private server: OPCUAServer | undefined;
  private readonly variables = new Map<string, UAVariable>();
  private readonly types = new Map<string, DataType>();
  private readonly stops: Unsubscribe[] = [];
  /** Signed-in users' roles, by user name (the session's identity token names the user, the store gave the role). */
  private readonly roles = new Map<string, Role>();
  readonly certificateManager: OPCUACertificateManager;

  constructor(private readonly o: OpcuaServerOptions) {
    this.certificateManager = new OPCUACertificateManager({ rootFolder: o.config.pki, automaticallyAcceptUnknownCertificate: false });
  }

  get endpointUrl(): string {
    return this.server?.getEndpointUrl() ?? '';
  }

  async start(): Promise<void> {
    const c = this.o.config;
    await this.certificateManager.initialize();
    const modes = c.securityModes.map((m) => MessageSecurityMode[m]);
    const server = new OPCUAServer({
      port: c.port,
      ...(c.host !== '0.0.0.0' ? { hostname: c.host } : {}),
      nodeset_filename: [nodesets.standard],
      serverCertificateManager: this.certificateManager,
      securityModes: modes,
      securityPolicies: c.securityModes.includes('None') ? [SecurityPolicy.None, SecurityPolicy.Basic256Sha256] : [SecurityPolicy.Basic256Sha256],
      allowAnonymous: c.anonymous,
      userManager: {
        isValidUserAsync: (user: string, password: string, callback: (err: Error | null, ok?: boolean) => void): void => {
          void this.o.users(user, password).then(
            (who) => {
              if (who) this.roles.set(who.user, who.role);
              this.o.log?.info({ user, ok: who !== undefined }, 'opcua: sign-in');
              callback(null, who !== undefined);
            },
            (err: unknown) => callback(err as Error),
          );
        },
      },
      buildInfo: { productName: 'Planta', productUri: 'urn:planta', manufacturerName: 'Planta' },
      serverInfo: { applicationName: { text: `Planta ${this.o.plant.plant.name}` }, applicationUri: `urn:planta:${this.o.plant.plant.name.replace(/\s+/g, '-')}` },
    });
    await server.initialize();
    this.server = server;
    this.build(server.engine.addressSpace!);
    for (const v of await this.o.bus.snapshot()) this.set(v);
    this.stops.push(await this.o.bus.subscribeValues((values) => values.forEach((v) => this.set(v))));
    const server0 = server.engine.addressSpace!.rootFolder.objects.server;
    this.stops.push(await this.o.bus.subscribeAlarmStates((states) => states.forEach((s) => this.raise(server0, s))));
    await server.start();
    if (this.o.registry) {
      readGauge(this.o.registry, 'planta_opcua_sessions', 'OPC UA sessions open now', () => server.currentSessionCount);
      readGauge(this.o.registry, 'planta_opcua_subscriptions', 'OPC UA subscriptions open now', () => server.currentSubscriptionCount);
      readCounter(this.o.registry, 'planta_opcua_rejected_sessions_total', 'OPC UA sessions refused (no or wrong user, untrusted client)', () => server.rejectedSessionCount);
    }
    this.o.log?.info({ endpoint: this.endpointUrl, modes: c.securityModes }, 'opcua: listening');
  }

  async stop(): Promise<void> {
    for (const stop of this.stops.splice(0)) await stop();
    await this.server?.shutdown(0);
    await this.certificateManager.dispose();
  }

  private build(space: AddressSpace): void {
    const ns = space.getOwnNamespace();
    const root = ns.addFolder(space.rootFolder.objects, { browseName: 'Planta', nodeId: 's=Planta' });
    const folders = new Map<string, UAObject>([['', root]]);
    const folder = (path: string[]): UAObject => {
      const key = path.join('.');
      const known = folders.get(key);
      if (known) return known;
      const parent = folder(path.slice(0, -1));
      const f = ns.addFolder(parent, { browseName: path.at(-1)!, nodeId: `s=folder:${key}` });
      folders.set(key, f);
      return f;
    };
    for (const t of this.o.plant.tags) this.addVariable(ns, folder(t.name.split('.').slice(0, -1)), t);
  }

  private addVariable(ns: Namespace, parent: UAObject, t: TagDefinition): void {
    const mapping = Object.hasOwn(this.o.config.commands, t.name) ? this.o.config.commands[t.name] : undefined;
    const access = makeAccessLevelFlag(mapping ? 'CurrentRead | CurrentWrite' : 'CurrentRead');
    const dataType = dataTypeOf(t);
    const common = {
      organizedBy: parent,
      browseName: t.name.split('.').at(-1)!,
      nodeId: `s=${t.name}`,
      description: t.description,
      accessLevel: access,
      userAccessLevel: access,
      minimumSamplingInterval: 0,
    };
    const numeric = dataType !== DataType.Boolean && dataType !== DataType.String;
    const variable = numeric
      ? ns.addAnalogDataItem({
          ...common,
          dataType: DataType[dataType] as 'Double',
          engineeringUnitsRange: { low: t.range?.[0] ?? 0, high: t.range?.[1] ?? 0 },
          engineeringUnits: makeEUInformation(t.unit, t.unit, t.unit),
          ...(t.range ? { instrumentRange: { low: t.range[0], high: t.range[1] } } : {}),
        })
      : ns.addVariable({ ...common, dataType: DataType[dataType] as 'Boolean' });
    variable.setValueFromSource(new Variant({ dataType, value: dataType === DataType.String ? '' : dataType === DataType.Boolean ? false : 0 }), StatusCodes.BadWaitingForInitialData);
    if (mapping) this.routeWrites(variable, t, mapping);
    this.variables.set(t.name, variable);
    this.types.set(t.name, dataType);
  }

  /** A write to a mapped variable: the command, with the signed-in user's own role; the variable changes only when the poller reads the PLC back. */
  private routeWrites(variable: UAVariable, t: TagDefinition, mapping: NonNullable<OpcuaConfig['commands'][string]>): void {
    const write = async (context: ISessionContext, value: unknown): Promise<StatusCode> => {
      const token = context.session?.userIdentityToken as { userName?: string } | undefined;
      const name = token?.userName;
      const role = name ? this.roles.get(name) : undefined;
      if (!name || !role) return StatusCodes.BadUserAccessDenied;
      const r = await this.o.commands.write({ target: t.name, mapping, value, user: `opcua:${name}`, role });
      if (r.ok) return StatusCodes.Good;
      if (r.code === 'PLANTA_COMMAND_FORBIDDEN') return StatusCodes.BadUserAccessDenied;
      if (r.code === 'PLANTA_COMMAND_OUT_OF_RANGE') return StatusCodes.BadOutOfRange;
      if (r.code === 'PLANTA_COMMAND_BAD_TYPE') return StatusCodes.BadTypeMismatch;
      return StatusCodes.BadRequestNotAllowed;
    };
    // Replaces the variable's own write (which would store the value): the value is the PLC's, read back.
    const target = variable as unknown as { writeValue: (context: ISessionContext, dataValue: { value: Variant }, ...rest: unknown[]) => unknown };
    target.writeValue = (context, dataValue, ...rest) => {
      const callback = rest.find((r) => typeof r === 'function') as ((err: Error | null, s?: StatusCode) => void) | undefined;
      const p = write(context, dataValue.value.value);
      if (!callback) return p;
      p.then((s) => callback(null, s), (err: unknown) => callback(err as Error));
      return undefined;
    };
  }

  private set(v: TagValue): void {
    const variable = this.variables.get(v.tag);
    if (!variable) return;
    const dataType = this.types.get(v.tag)!;
    const value = v.value === null ? (dataType === DataType.Boolean ? false : dataType === DataType.String ? '' : 0) : v.value;
    variable.setValueFromSource(new Variant({ dataType, value }), statusOf(v.quality), new Date(v.sourceTs));
  }

  private raise(serverObject: UAObject, s: AlarmState): void {
    const text = `${s.id}: ${s.message} — ${s.state}${s.active === null ? ' (unknown)' : s.active ? ' (active)' : ''}${s.acked ? ', acknowledged' : ''}`;
    serverObject.raiseEvent('BaseEventType', {
      sourceName: { dataType: DataType.String, value: s.source },
      message: { dataType: DataType.LocalizedText, value: { text } },
      severity: { dataType: DataType.UInt16, value: SEVERITY[s.priority] },
      time: { dataType: DataType.DateTime, value: new Date(s.changedAt) },
    });
  }
}
