/**
 * The bus: how the poller's values reach everything else. Two
 * implementations share this interface: in memory (one process) and Redis
 * (many processes), so messages are plain serialisable data and every
 * operation is asynchronous.
 */
import type { TagValue } from '../tags/types.js';
import type { AlarmState, JournalEntry } from './alarm-messages.js';
import type { CommandOutcome, CommandRequest } from './command-messages.js';

export type { AlarmState, CommandOutcome, CommandRequest, JournalEntry };

/**
 * A device's link health, from valid replies, not from TCP: 'connected' while
 * a valid reply (a well-formed answer to a request, a Modbus exception
 * included) came within the device's link-loss time; 'down' once none came
 * for that long, whatever the TCP connection does (a PLC that accepts and
 * never answers, answers garbage, or closes every connection is down);
 * 'connecting' only while a poller that just started waits for its first
 * reply, for at most the link-loss time.
 */
export type DeviceState = 'connected' | 'connecting' | 'down';

/** The poller's TCP connection to the device, for the diagnostics (the link's health is `state`). */
export type TcpState = 'connected' | 'connecting' | 'closed';

/** A device's communication figures, for the diagnostics display and metrics. */
export interface DeviceStatus {
  device: string;
  state: DeviceState;
  /** Epoch ms of the current TCP connection, or null while there is none. */
  connectedSince: number | null;
  /** Epoch ms of the last valid reply from the device, null before the first (absent from older pollers). */
  lastValidReplyAt?: number | null;
  /** While `state` is 'down': since when no valid reply came (the last one, or the poller's start when none ever came). */
  noReplySince?: number | null;
  /** How long without a valid reply makes the link down (devices[].linkLoss). */
  linkLossMs?: number;
  /** The TCP connection, which says nothing of the link's health: a connection may be open to a PLC that never answers. */
  tcp?: TcpState;
  lastError: { code: string; message: string; at: number } | null;
  requests: number;
  responses: number;
  errors: {
    timeout: number;
    connection: number;
    protocol: number;
    /** Exception responses by exception code. */
    exception: Record<string, number>;
    /** On an RTU link: replies with a wrong CRC while this device's request was on the line (noise, wrong baud rate or parity). */
    crc?: number;
    /** On an RTU link: frames of another unit while this device's request was on the line (two devices with one address, an echo). */
    otherUnit?: number;
  };
  latencyMs: { p50: number | null; p99: number | null };
  reconnects: number;
  scans: number;
  overruns: number;
  /**
   * The overruns by cause (src/poller/shedding.ts): Planta's own lateness, the device's slowness, or the event loop
   * waiting for a CPU other processes held. Absent from older pollers.
   */
  overrunCauses?: { 'planta-late': number; 'device-slow': number; 'cpu-starved': number };
  /** Each scan group: its scans, its slots skipped by overruns, and its scans shed on purpose while the device was behind. */
  scanGroups?: { name: string; periodMs: number; shedRank: number | null; scans: number; missed: number; shed: number }[];
  /** How many scan groups are shed now (the first of devices[].shedOrder). */
  shedding?: number;
  /** Timeouts that left the values as they were: this process could not run for part of the device's timeout, so the device did not get all of it. */
  excusedTimeouts?: number;
  /** How late scans start behind their slot. */
  jitterMs: { p50: number | null; p99: number | null };
  /** Tags of this device by quality. */
  qualities: Record<string, number>;
  /**
   * The poller polling it, when pollers hold leases (several pollers on the
   * Redis bus): its id, since when it holds the device, and the standby
   * pollers waiting to take it over.
   */
  poller?: { id: string; since: number; leaseMs: number; standby?: string[] };
  updatedAt: number;
}

export type Unsubscribe = () => Promise<void>;

/**
 * This process's link to the bus. Down from the moment a connection to Redis
 * failed (refused, reset, or silent for SILENT_LINK_MS) until the live state
 * was read again; the in-memory bus is always up.
 */
export interface BusLink {
  up: boolean;
  /** Epoch ms of the last change: since when the link is up, or down. */
  since: number;
  /** Why it is down, in words. */
  detail?: string;
}

/** What a batch of values is. */
export interface ValueBatchInfo {
  /**
   * True when the batch is the last value of every tag, sent after the bus
   * lost its connection and came back: change notifications may have been
   * missed, so the subscriber takes the batch as the whole state, not as deltas.
   */
  resync: boolean;
}

/**
 * A device's scan report as the Redis bus carries it when its values are
 * plain (each has a value, all one server time): the web's stream delta,
 * already encoded in this process's tag space (src/tags/space.ts), so a web
 * node sends it to its browsers without decoding and encoding the values
 * again (src/bus/redis/codec.ts encodeScan).
 */
export interface ValueFrame {
  readonly device: string;
  /** The tag space its indexes refer to (tagSpace(...).id). */
  readonly space: string;
  /** `{"t":…,"values":[StreamValue…]}`: src/web/protocol.ts StreamDelta, as text. */
  readonly delta: string;
  /** The server time of every value. */
  readonly serverTs: number;
  /** The same values as TagValues, decoded on the first call. */
  values(): TagValue[];
}

export interface SubscribeOptions {
  /**
   * A durable subscription's name: after a restart of the process it resumes
   * where this name stopped, so nothing published meanwhile is lost (Redis
   * consumer group; each name receives every message at least once). On the
   * in-memory bus nothing outlives the process and the name is ignored.
   */
  durable?: string;
  /**
   * With `durable`, shared by several processes: every so often, take over
   * the entries pending this long with another of them (one that stopped, or
   * cannot handle them now). Default: only when subscribing.
   */
  reclaimMs?: number;
}

/**
 * A handler of stream entries (command outcomes, journal entries). On the
 * Redis bus a durable subscription acknowledges an entry once the handler's
 * returned promise settled; one whose handler fails as the subscription stops is left
 * pending, taken again at the next start under the same name.
 */
export type EntryHandler<T> = (entry: T) => unknown;

/**
 * Why a command may not be written: another execution took it, its time ran
 * out, or this poller no longer holds the lease of the command's device.
 */
export type CommandClaim = 'claimed' | 'duplicate' | 'expired' | 'not-owner';

export interface CommandSubscription {
  /** Only the commands of these devices (a poller's, or the devices whose lease it holds). */
  devices?: readonly string[];
}

/** A request from one process to a service in another (e.g. an alarm action from a web node to the alarm engine). */
export interface ServiceRequest {
  op: string;
  body: unknown;
}

/** A service's answer: its result, or its error with a stable code and HTTP status. */
export type ServiceReply = { ok: true; result: unknown } | { ok: false; code: string; message: string; statusCode: number };

/** The scan a batch of values comes from: a poller's report for the historian. */
export interface ScanInfo {
  device: string;
  /**
   * The device's values are known up to this time (epoch ms of the scan's
   * reply): every tag not in the batch kept its last value until then. A
   * poller reports a scan that changed nothing at least once a second, so the
   * historian can repeat flat values without claiming more than it knows.
   */
  upTo: number;
}

/** Values as the historian receives them: in order per device, with how far the device's values are known. */
export interface SampleBatch {
  /** The values' device, when the bus knows it. */
  device?: string;
  /** See ScanInfo.upTo; absent when the batch is not a scan report. */
  upTo?: number;
  values: TagValue[];
}

/**
 * A durable subscription to the samples (the historian's): batches are handed
 * over in order per device and stay the subscriber's until it acknowledges
 * them, so a restart resumes after the last acknowledged batch.
 */
export interface SampleSubscription {
  /** Where the delivery stands now: acknowledging it later covers every batch handed over before this call. */
  position(): number;
  /** Acknowledges every batch handed over before `position()` returned `at` (call once they are committed). */
  acknowledge(at: number): Promise<void>;
  stop: Unsubscribe;
}

/*
 * The bus by role. A process receives only the roles it uses: a web node
 * never sees a poller's leases or command claims, the alarm engine cannot
 * submit a command. memory/ and redis/ implement the roles in files of their
 * own (the three command roles together, in commands.ts); `Bus` is all of
 * them, for the code that opens the whole connection (src/cli).
 */

/** Live values and the devices' communication: what a poller publishes and every other process reads. */
export interface ValueBus {
  /**
   * Publishes changed values (report by exception); the bus keeps the last
   * value of every tag. With `scan` (a poller's scan report) the values may
   * be empty: the report still tells the historian how far the device is known.
   */
  publishValues(values: TagValue[], scan?: ScanInfo): Promise<void>;
  /** The last value of every tag published so far. */
  snapshot(): Promise<TagValue[]>;
  /**
   * Calls `handler` with each batch published after subscribing; after a lost
   * connection, with every tag's last value and `{resync: true}` before any
   * newer change. With `frames`, a batch the bus has as a frame in this
   * process's tag space goes to `frames` instead of `handler` (never to
   * both); a bus without frames (in memory) never calls it.
   */
  subscribeValues(handler: (values: TagValue[], info: ValueBatchInfo) => void, frames?: (frame: ValueFrame) => void): Promise<Unsubscribe>;
  /**
   * Every published batch, for the historian, nothing skipped within the
   * bus's backlog: on Redis a stream per device read by the consumer group
   * `durable` (batches published while this subscriber was away, or while the
   * publisher was cut off from Redis and kept them on its disk, arrive later in
   * their order); in memory, each batch as it is published.
   */
  subscribeSamples(handler: (batch: SampleBatch) => void, options: { durable: string }): Promise<SampleSubscription>;

  /**
   * Calls `handler` with the state of this process's link to the bus now, then at each change; when the link comes
   * back, after the live state was handed over again (values with `{resync: true}`).
   */
  subscribeLink(handler: (link: BusLink) => void): Promise<Unsubscribe>;

  publishDeviceStatus(status: DeviceStatus): Promise<void>;
  deviceStatuses(): Promise<DeviceStatus[]>;
  subscribeDeviceStatus(handler: (status: DeviceStatus) => void): Promise<Unsubscribe>;
}

/** Queuing an operator command: a web node's side of commands. */
export interface CommandBus {
  /**
   * Queues an operator command for the poller that owns its device. Never
   * waits for an outage: with `request.acceptBy`, a bus that cannot take it
   * by then throws BusError PLANTA_BUS_NOT_QUEUED (not sent: it will never
   * run) or PLANTA_BUS_UNCONFIRMED (sent, not confirmed), and a request that
   * reaches the bus after its acceptBy is never executed.
   */
  submitCommand(request: CommandRequest): Promise<void>;
}

/** Executing commands: the poller's side, which alone writes to a PLC. */
export interface CommandExecutionBus {
  subscribeCommands(handler: (request: CommandRequest) => void, options?: CommandSubscription): Promise<Unsubscribe>;
  /**
   * Taken by the poller right before it writes: 'claimed' once per command id
   * across every process, 'duplicate' for any later attempt, 'expired' once
   * the command's expiry has passed. Delivery may repeat (a restart, a
   * redelivered stream entry); the claim makes the write happen at most once.
   * `again`: this execution's previous claim failed on its way (its connection
   * dropped, its answer lost): the claim it may have made counts as its own.
   */
  claimCommand(request: CommandRequest, options?: { again?: boolean }): Promise<CommandClaim>;
  /**
   * Hands a delivered command back unexecuted: this process may not write
   * its device now (its lease is not trusted). The bus delivers it again —
   * to the lease's holder, or here once this process holds it again — so it
   * is executed or reported expired, never left waiting.
   */
  releaseCommand(id: string): Promise<void>;
  /**
   * Notes that the claimed command's writing begins: a poller that takes it
   * over after its executor died reports it unknown (it may have been
   * written), not "not sent".
   */
  commandWriting(request: CommandRequest): Promise<void>;
}

/** Command outcomes (queued, confirmed, rejected...): to the browsers, the audit log and the event list. */
export interface OutcomeBus {
  /** On the Redis bus, a final outcome also settles the command's claim and delivery. */
  publishCommandOutcome(outcome: CommandOutcome): Promise<void>;
  subscribeCommandOutcomes(handler: EntryHandler<CommandOutcome>, options?: SubscribeOptions): Promise<Unsubscribe>;
}

/**
 * A device's lease: at most one poller polls a device and executes its
 * commands. `acquireDeviceLease` takes a free lease for `ttlMs`;
 * `renewDeviceLease` extends it only if `owner` still holds it; both say
 * whether `owner` holds it now; a failed acquisition counts `owner` as a
 * standby for the lease time. While this bus holds a device's lease,
 * `claimCommand` grants a command of that device only to the holder.
 */
export interface LeaseBus {
  acquireDeviceLease(device: string, owner: string, ttlMs: number): Promise<boolean>;
  renewDeviceLease(device: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if `owner` holds it (a clean stop: the standby takes over at once). */
  releaseDeviceLease(device: string, owner: string): Promise<void>;
  deviceLeaseHolder(device: string): Promise<string | null>;
  /** The pollers waiting for the device's lease: those whose last `acquireDeviceLease` failed within their lease time. */
  deviceLeaseStandbys(device: string): Promise<string[]>;
  /**
   * The leases of devices that one poller must hold together (the devices of a link: one process owns the line), all
   * or none, atomically: taken when each is free or already `owner`'s; otherwise none is, and `owner` is a standby of
   * each.
   */
  acquireDeviceLeases(devices: readonly string[], owner: string, ttlMs: number): Promise<boolean>;
  /** Extends the leases of `devices` only if `owner` holds every one of them; otherwise extends none. */
  renewDeviceLeases(devices: readonly string[], owner: string, ttlMs: number): Promise<boolean>;
}

/** Alarm states: published by the alarm engine, read by web nodes. */
export interface AlarmBus {
  /** Alarm states that changed; the bus keeps the last state of every alarm. */
  publishAlarmStates(states: AlarmState[]): Promise<void>;
  alarmStates(): Promise<AlarmState[]>;
  subscribeAlarmStates(handler: (states: AlarmState[]) => void): Promise<Unsubscribe>;
}

/** The event journal: written by the alarm engine, followed by web nodes and the audit trail. */
export interface JournalBus {
  /** Journal entries as they are written (alarms, acknowledgements, events, commands, devices). */
  publishJournal(entries: JournalEntry[]): Promise<void>;
  subscribeJournal(handler: EntryHandler<JournalEntry[]>, options?: SubscribeOptions): Promise<Unsubscribe>;
}

/** Requests from one process to a service in another (the alarm engine's actions and journal reads from web nodes). */
export interface RpcBus {
  /** Answers requests to `service` (one process per service name). */
  serve(service: string, handler: (request: ServiceRequest) => Promise<unknown>): Promise<Unsubscribe>;
  /** Asks `service` and waits for its answer; throws BusError PLANTA_BUS_NO_ANSWER after `timeoutMs`. */
  request(service: string, request: ServiceRequest, timeoutMs: number): Promise<ServiceReply>;
}

/** The connection itself: closed by whoever opened it. */
export interface BusConnection {
  close(): Promise<void>;
}

/** Every role on one connection: for the code that opens it (src/cli) and the two implementations. */
export interface Bus extends ValueBus, CommandBus, CommandExecutionBus, OutcomeBus, LeaseBus, AlarmBus, JournalBus, RpcBus, BusConnection {}
