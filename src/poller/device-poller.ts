/**
 * Polls one device: the only owner of its Modbus connection. One drift-free
 * scan loop serves all the device's scan groups; every tag's value goes to the
 * bus with its quality when it changes beyond its deadband or its quality
 * changes (report by exception).
 *
 * The link's health is "a valid reply within the link-loss time", not the TCP
 * connection: a PLC that accepts connections and never answers, answers
 * garbage or closes every connection is down once no valid reply came for
 * that long, and its status says so at that moment (the comm.<device> alarm
 * follows it). A Modbus exception is a valid reply: it proves a living device
 * at the other end (its tags are Bad_DeviceFailure with the code).
 */
import {
  type ModbusResponse,
  ModbusConnectionError,
  ModbusExceptionError,
  ModbusTimeoutError,
} from '../modbus/index.js';
import { type DeviceChannel, connectionOf, ownChannel } from './channel.js';
import { gatewaySilence, qualityOfError } from './read-errors.js';
import type {
  CommandExecutionBus,
  CommandOutcome,
  CommandRequest,
  DeviceState,
  DeviceStatus,
  LeaseBus,
  OutcomeBus,
  TcpState,
  Unsubscribe,
  ValueBus,
} from '../bus/types.js';
import type { DeviceConfig } from '../config/resolve.js';
import type { Quality } from '../tags/quality.js';
import type { TagDefinition, TagValue } from '../tags/types.js';
import type { Logger } from '../util/log.js';
import { SampleWindow } from '../util/percentiles.js';
import { Periodic } from '../util/scheduler.js';
import { StallClock } from '../util/stalls.js';
import { CommandExecutor, type ExecutorOptions, type ReadValue } from './command-executor.js';
import { type Group, type Block, scanGroups } from './scan-groups.js';
import { ScanBudget, shedOrderOf } from './shedding.js';
import { type TagState, applyValue } from './tag-state.js';

/** Receives measurements as they happen (for the Prometheus histograms). */
export interface PollerObservers {
  latency(device: string, seconds: number): void;
  lateness(device: string, seconds: number): void;
}

/** What a poller does on the bus: publish values and statuses, hold leases, execute commands and report their outcomes. */
export type PollerBus = ValueBus & LeaseBus & CommandExecutionBus & OutcomeBus;

export interface DevicePollerOptions {
  bus: PollerBus;
  log?: Logger;
  /** How often the device's communication figures are published. Default 1000 ms. */
  statusIntervalMs?: number;
  commands?: ExecutorOptions;
  observers?: PollerObservers;
  /**
   * Whether this poller may write the device now (its lease, when pollers
   * hold leases): checked right before every command write.
   */
  allowed?: () => boolean;
  /** Whether this poller polls the device now (with leases: while it holds the lease, trusted or not): checked before every scan. */
  polls?: () => boolean;
  /** The lease this poller holds on the device, shown in its status (with the standby pollers waiting for it). */
  lease?: { id: string; since: number; leaseMs: number };
  /** This process's stalls, shared by its device pollers (started and stopped by their owner); default: one of its own. */
  stalls?: StallClock;
  /** The device's share of its link (link-scheduler.ts); default: a Modbus/TCP connection of its own to its host. */
  channel?: DeviceChannel;
  /** Its link speaks RTU (a serial line, a converter): its status counts CRC errors and other units' frames. */
  rtu?: boolean;
}

/**
 * How long without a valid reply makes a device's link down: devices[].linkLoss, else 2 × the timeout + the fastest
 * scan period (`periods`: those actually scanned) — by then a healthy device has answered, and a dead one has let two
 * requests in a row time out.
 */
export function linkLossMs(device: DeviceConfig, periods: readonly number[] = Object.values(device.scanGroups)): number {
  return device.linkLossMs ?? 2 * device.timeoutMs + Math.min(...periods);
}

export class DevicePoller {
  readonly tags: TagState[];
  private readonly groups: Group[];
  private readonly client: DeviceChannel;
  private readonly loop: Periodic;
  private readonly budget: ScanBudget;
  private excusedTimeouts = 0;
  private readonly latency = new SampleWindow(1024);
  private readonly jitter = new SampleWindow(1024);
  private statusTimer: NodeJS.Timeout | undefined;
  private lastError: DeviceStatus['lastError'] = null;
  private readonly bus: PollerBus;
  private readonly log: Logger | undefined;
  private running = false;
  /** Scans and command writes take turns on the connection: never interleaved. */
  private turn: Promise<unknown> = Promise.resolve();
  private readonly executor: CommandExecutor;
  /** When the last scan report went to the bus. */
  private reportedAt = 0;
  /** The pollers waiting for this device's lease, as last asked. */
  private standby: string[] | undefined;
  private askingStandby = false;
  /** See linkLossMs(). */
  readonly linkLossMs: number;
  private startedAt = 0;
  private lastValidReplyAt: number | null = null;
  private readonly stalls: StallClock;
  private readonly ownStalls: boolean;
  /** stalls.stalledMs at the last valid reply (or the start). */
  private stalledBefore = 0;
  /** The link as last announced: down once no valid reply came for linkLossMs. */
  private linkDown = false;
  private linkTimer: NodeJS.Timeout | undefined;
  private unlink: Unsubscribe | undefined;

  constructor(
    readonly device: DeviceConfig,
    tags: readonly TagDefinition[],
    private readonly options: DevicePollerOptions,
  ) {
    this.bus = options.bus;
    this.log = options.log?.child({ device: device.name });
    this.ownStalls = options.stalls === undefined;
    this.stalls = options.stalls ?? new StallClock();
    const { groups, tags: states, base } = scanGroups(device, tags);
    this.groups = groups;
    this.tags = states;
    const periods = Object.values(device.scanGroups);
    const scanned = this.groups.filter((g) => g.blocks.length > 0).map((g) => g.periodMs);
    this.linkLossMs = linkLossMs(device, scanned.length > 0 ? scanned : periods);
    this.client = options.channel ?? ownChannel(connectionOf(device));
    const observers = options.observers;
    this.client.onLatency(
      observers
        ? (ms) => {
            this.latency.add(ms);
            observers.latency(device.name, ms / 1000);
          }
        : (ms) => this.latency.add(ms),
    );
    this.client.onDisconnect((err) => this.onDisconnect(err));
    this.client.onState(() => void this.publishStatus());
    this.budget = new ScanBudget(this.groups, shedOrderOf(device), base, this.stalls.starvedMs);
    this.loop = new Periodic(
      base,
      (slot) => this.scan(slot),
      (err) => this.log?.error({ err }, 'scan failed'),
      (slot, missed, dueAt) => void this.budget.overrun(slot, missed, dueAt, performance.now()),
    );
    this.executor = new CommandExecutor(
      this.client,
      new Map(tags.filter((t) => t.device === device.name).map((t) => [t.name, t])),
      this.bus,
      (f) => this.exclusive(f),
      this.log,
      { ...options.commands, ...(options.allowed ? { allowed: options.allowed } : {}), onRead: (r) => this.applyRead(r) },
    );
  }

  private exclusive<T>(f: () => Promise<T>): Promise<T> {
    const run = this.turn.then(f, f);
    this.turn = run.catch(() => undefined);
    return run;
  }

  /** Executes an operator command for this device (between scans); resolves with its outcome. */
  execute(cmd: CommandRequest): Promise<CommandOutcome> {
    return this.executor.execute(cmd);
  }

  /** Requests a scan of every group issues, for tests and diagnostics. */
  get requestsPerScan(): Record<string, number> {
    return Object.fromEntries(this.groups.map((g) => [g.name, g.blocks.length]));
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const now = Date.now();
    this.startedAt = now;
    if (this.ownStalls) this.stalls.start();
    this.stalledBefore = this.stalls.stalledMs;
    for (const t of this.tags) t.ts = now;
    await this.bus.publishValues(
      this.tags.map((t) => ({ tag: t.def.name, value: null, quality: t.quality, sourceTs: now, serverTs: now })),
    );
    this.linkTimer = setTimeout(() => this.watchLink(), this.linkLossMs);
    // Redis back after an outage (perhaps restarted empty): every tag again, so that none is missing from the bus.
    let busLost = false;
    this.unlink = await this.bus.subscribeLink((link) => {
      if (!link.up) busLost = true;
      else if (busLost) {
        busLost = false;
        void this.republish();
      }
    });
    this.loop.start();
    const every = this.options.statusIntervalMs ?? 1000;
    const tick = (): void => {
      this.checkStale();
      void this.publishStatus();
    };
    // Devices started together would otherwise all compute their figures in the same instant.
    this.statusTimer = setTimeout(() => {
      this.statusTimer = setInterval(tick, every);
    }, Math.random() * every);
    await this.publishStatus();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.statusTimer);
    clearInterval(this.statusTimer);
    clearTimeout(this.linkTimer);
    if (this.ownStalls) this.stalls.stop();
    await this.unlink?.();
    await this.loop.stop();
    await this.client.close();
  }

  // ------------------------------------------------------------ scanning

  private async scan(slot: number): Promise<void> {
    const lateness = this.loop.stats.lastLatenessMs;
    this.jitter.add(lateness);
    this.options.observers?.lateness(this.device.name, lateness / 1000);
    const started = performance.now();
    const due = this.groups.filter((g) => slot % g.every === 0 && g.blocks.length > 0);
    if (due.length === 0 || this.options.polls?.() === false) return;
    const read = this.budget.select(due);
    try {
      if (read.length > 0) await this.read(read, started);
    } finally {
      this.budget.end(started - lateness, started, performance.now());
    }
  }

  private async read(groups: Group[], started: number): Promise<void> {
    const blocks = groups.length === 1 ? groups[0]!.blocks : groups.flatMap((g) => g.blocks);
    this.budget.begin(started);
    const stalled0 = this.stalls.stalledMs;
    const results = await this.exclusive(() => Promise.allSettled(blocks.map((b) => this.client.request(b.request, b.group))));
    const replied = performance.now();
    // This process could not run for part of the scan: a timeout then may be its own lateness, not the device's silence.
    const lost = Math.max(this.budget.replied(replied), this.stalls.stalledMs - stalled0);
    const excusable = replied - started - lost < this.device.timeoutMs;
    // The lease was lost during the scan: another poller owns the device now and publishes its values.
    if (this.options.polls?.() === false) return;
    const now = Date.now();
    const out: TagValue[] = [];
    let valid = false;
    for (let i = 0; i < blocks.length; i++) {
      const r = results[i]!;
      if (r.status === 'fulfilled') this.applyReply(blocks[i]!, r.value, now, out);
      else if (excusable && r.reason instanceof ModbusTimeoutError) this.excusedTimeouts++;
      else this.applyError(blocks[i]!.tags, r.reason, now, out);
      valid ||= r.status === 'fulfilled' || (r.reason instanceof ModbusExceptionError && !gatewaySilence(r.reason));
    }
    if (valid) this.noteValidReply(now);
    const stalled = this.stalls.stalledMs;
    for (const g of groups) {
      g.lastCompleted = now;
      g.stalledAtCompletion = stalled;
    }
    // A scan that changed nothing is still reported once a second: the historian learns how far the values are known.
    if (out.length > 0 || now - this.reportedAt >= 1000) {
      this.reportedAt = now;
      await this.bus.publishValues(out, { device: this.device.name, upTo: now });
    }
  }

  /**
   * Publishes every tag's current value and quality again (after values waited for the bus: they may have missed a
   * subscriber, or Redis lost them), each with the time it was read: a republished value is no newer than it is.
   */
  async republish(): Promise<void> {
    if (!this.running) return;
    const out: TagValue[] = this.tags.map((t) => {
      const v: TagValue = { tag: t.def.name, value: t.value, quality: t.quality, sourceTs: t.ts, serverTs: t.ts };
      if (t.exceptionCode !== undefined) v.exceptionCode = t.exceptionCode;
      return v;
    });
    await this.bus.publishValues(out);
  }

  private applyReply(block: Block, res: ModbusResponse, now: number, out: TagValue[]): void {
    const data = block.bits ? (res as { bits: boolean[] }).bits : (res as { registers: Uint16Array }).registers;
    for (const t of block.tags) applyValue(t, t.decode ? t.decode(data as Uint16Array, t.offset) : (data as boolean[])[t.offset]!, now, out);
  }

  /**
   * A value a command's read-back just read: into the tag's state (report by
   * exception stays right) and on the bus at once, with its read time — the
   * operator sees the new setting without waiting for its scan group.
   */
  private applyRead(r: ReadValue): void {
    const t = this.running ? this.tags.find((s) => s.def.name === r.tag) : undefined;
    const out: TagValue[] = [];
    if (t) applyValue(t, r.value, r.at, out, Date.now());
    if (out.length > 0) void this.bus.publishValues(out);
  }

  private applyError(tags: TagState[], err: unknown, now: number, out: TagValue[]): void {
    const { quality, exceptionCode } = qualityOfError(err);
    if (err instanceof Error) {
      const code = (err as { code?: string }).code ?? 'PLANTA_ERROR';
      if (this.lastError?.code !== code) this.log?.warn({ code, err: err.message }, 'read failed');
      this.lastError = { code, message: err.message, at: now };
    }
    this.mark(tags, quality, exceptionCode, now, out);
  }

  /** `ts`: when the new quality was found (the time of the failed read), or the value's own read time for a stale one. */
  private mark(tags: TagState[], quality: Quality, exceptionCode: number | undefined, now: number, out: TagValue[], keepTs = false): void {
    for (const t of tags) {
      if (t.quality === quality && t.exceptionCode === exceptionCode) continue;
      t.quality = quality;
      t.exceptionCode = exceptionCode;
      if (!keepTs) t.ts = now;
      const v: TagValue = { tag: t.def.name, value: t.value, quality, sourceTs: t.ts, serverTs: now };
      if (exceptionCode !== undefined) v.exceptionCode = exceptionCode;
      out.push(v);
    }
  }

  private onDisconnect(err: ModbusConnectionError | Error): void {
    if (!this.running) return;
    const now = Date.now();
    const out: TagValue[] = [];
    this.applyError(this.tags, err instanceof ModbusConnectionError ? err : new ModbusConnectionError(err.message), now, out);
    if (out.length > 0) void this.bus.publishValues(out);
  }

  /** A group that has not completed a scan for a long while makes its good values uncertain. */
  private checkStale(): void {
    const now = Date.now();
    const out: TagValue[] = [];
    for (const g of this.groups) {
      const limit = Math.max(3 * g.periodMs, g.periodMs + 2 * this.device.timeoutMs) + 1000;
      // Less the time this process could not run: its own lateness makes no value stale.
      if (g.lastCompleted === 0 || now - g.lastCompleted - (this.stalls.stalledMs - g.stalledAtCompletion) < limit) continue;
      for (const b of g.blocks) this.mark(b.tags.filter((t) => t.quality === 'Good'), 'Uncertain_LastUsableValue', undefined, now, out, true);
    }
    if (out.length > 0) void this.bus.publishValues(out);
  }

  // ------------------------------------------------------------ link health

  private noteValidReply(now: number): void {
    this.lastValidReplyAt = now;
    this.stalledBefore = this.stalls.stalledMs;
    this.linkTimer ??= setTimeout(() => this.watchLink(), this.linkLossMs);
    if (!this.linkDown) return;
    this.linkDown = false;
    this.log?.info({ linkLossMs: this.linkLossMs }, 'valid replies again: link up');
    void this.publishStatus();
  }

  /**
   * How long the device has been silent: since the last valid reply (or the start, before the first), less the time
   * this process could not run — a reply may have been waiting in the socket meanwhile.
   */
  private silentMs(now: number): number {
    return now - (this.lastValidReplyAt ?? this.startedAt) - (this.stalls.stalledMs - this.stalledBefore);
  }

  /** Up while silent for less than linkLossMs; down after. */
  private linkState(now: number): DeviceState {
    if (this.silentMs(now) < this.linkLossMs) return this.lastValidReplyAt === null ? 'connecting' : 'connected';
    return 'down';
  }

  /** Runs when the link-loss time may have passed: announces the link down, or waits for the new deadline. */
  private watchLink(afterIo = false): void {
    this.linkTimer = undefined;
    if (!this.running) return;
    const left = this.linkLossMs - this.silentMs(Date.now());
    if (left > 0) {
      this.linkTimer = setTimeout(() => this.watchLink(), left);
      return;
    }
    // Once more after the I/O waiting now: a reply sitting in the socket behind a busy event loop is no silence.
    if (!afterIo) {
      this.linkTimer = setTimeout(() => this.watchLink(true), 1);
      return;
    }
    this.linkDown = true;
    this.log?.warn({ linkLossMs: this.linkLossMs, lastValidReplyAt: this.lastValidReplyAt, tcp: this.client.state }, 'no valid reply within the link-loss time: link down');
    void this.publishStatus();
  }

  // ------------------------------------------------------------ figures

  status(): DeviceStatus {
    const s = this.client.stats;
    const c = this.client.state;
    const now = Date.now();
    const state = this.linkState(now);
    const tcp: TcpState = c === 'connected' ? 'connected' : c === 'connecting' ? 'connecting' : 'closed';
    const [p50, p99] = this.latency.percentiles(0.5, 0.99);
    const [j50, j99] = this.jitter.percentiles(0.5, 0.99);
    const qualities: Record<string, number> = {};
    for (const t of this.tags) qualities[t.quality] = (qualities[t.quality] ?? 0) + 1;
    const round = (v: number | null): number | null => (v === null ? null : Math.round(v * 100) / 100);
    return {
      device: this.device.name,
      state,
      connectedSince: s.connectedSince,
      lastValidReplyAt: this.lastValidReplyAt,
      noReplySince: state === 'down' ? (this.lastValidReplyAt ?? this.startedAt) : null,
      linkLossMs: this.linkLossMs,
      tcp,
      lastError: this.lastError,
      requests: s.requests,
      responses: s.responses,
      errors: {
        timeout: s.timeouts,
        connection: s.connectionErrors,
        protocol: s.protocolErrors,
        exception: Object.fromEntries(Object.entries(s.exceptions).map(([k, v]) => [k, v])),
        ...(this.options.rtu ? { crc: s.crcErrors, otherUnit: s.otherUnits } : {}),
      },
      latencyMs: { p50: round(p50!), p99: round(p99!) },
      reconnects: s.reconnects,
      scans: this.loop.stats.runs,
      overruns: this.loop.stats.overruns,
      overrunCauses: { ...this.budget.causes },
      scanGroups: this.budget.figures(),
      shedding: this.budget.shedding,
      excusedTimeouts: this.excusedTimeouts,
      jitterMs: { p50: round(j50!), p99: round(j99!) },
      qualities,
      ...(this.options.lease ? { poller: { ...this.options.lease, ...(this.standby ? { standby: this.standby } : {}) } } : {}),
      updatedAt: now,
    };
  }

  /** Forgets latency and jitter samples, e.g. after a warm-up that would skew them. */
  resetFigures(): void {
    this.latency.clear();
    this.jitter.clear();
  }

  private async publishStatus(): Promise<void> {
    if (!this.running || this.options.polls?.() === false) return;
    if (this.options.lease && !this.askingStandby) {
      // Asked for the next status, never waited for: Redis may be away.
      this.askingStandby = true;
      this.bus.deviceLeaseStandbys(this.device.name).then(
        (s) => void (this.standby = s),
        () => undefined,
      ).finally(() => void (this.askingStandby = false));
    }
    await this.bus.publishDeviceStatus(this.status());
  }
}
