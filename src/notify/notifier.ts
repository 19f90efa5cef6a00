/**
 * The notifier: alarm journal entries in (src/notify/feed.ts), the policy's
 * notices into the outbox, and one courier per channel taking them out in
 * order — sent, or retried with exponential backoff until the channel takes
 * them. What was sent and what failed is logged for the HMI's Notifications
 * page; `test` sends a test message straight to a channel.
 */
import type { Registry } from 'prom-client';
import type { AlarmState, JournalEntry } from '../bus/alarm-messages.js';
import type { NotificationsConfig } from '../config/schema.js';
import type { Logger } from '../util/log.js';
import { type Channel, type ChannelOptions, createChannel } from './channels.js';
import { NotifyError } from './errors.js';
import { type AlarmFeedBus, followAlarms } from './feed.js';
import { type NotifyMetrics, registerNotifyMetrics } from './metrics.js';
import { type Notice, type RenderContext, render, words } from './notice.js';
import type { NotifyOutbox } from './outbox.js';
import { type Clock, type NewNotice, NotifyPolicy, realClock } from './policy.js';
import type { ChannelStatus, NotificationStatus } from './status.js';
import type { NoticeTexts } from './texts.js';

export interface NotifierOptions {
  config: NotificationsConfig;
  plant: string;
  /** The configuration's texts in each language (the plant's name, the alarms' messages): noticeTexts(config). */
  texts?: NoticeTexts;
  /** The plant's time zone (plant.timezone); default the server's. */
  timeZone?: string;
  outbox: NotifyOutbox;
  clock?: Clock;
  log?: Logger;
  registry?: Registry;
  channelOptions?: ChannelOptions;
}

/** A message the receiver refused is tried this many times in all, then logged as rejected and taken off the queue. */
const REJECTED_ATTEMPTS = 3;

class Courier {
  private stopped = false;
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private endSleep: (() => void) | undefined;
  private attempt = 0;
  failing: ChannelStatus['failing'];

  constructor(
    readonly channel: Channel,
    private readonly n: Notifier,
  ) {}

  start(): void {
    this.running ??= this.loop().catch((err: unknown) => this.n.o.log?.error({ err, channel: this.channel.name }, 'notifications: the courier stopped'));
  }

  /** Something was queued. */
  kick(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.kick();
    this.endSleep?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    const { outbox } = this.n.o;
    const name = this.channel.name;
    while (!this.stopped) {
      const item = outbox.next(name);
      if (!item) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      const now = Date.now();
      const r = render(item.notice, this.n.context(this.channel, now));
      const row = { channel: name, to: this.channel.target, kind: item.notice.kind, alarm: item.notice.alarm?.id ?? null, subject: r.subject, late: r.late, queuedAt: item.notice.queuedAt };
      try {
        await this.channel.send(r);
        this.attempt++;
        outbox.done(name, item.seq);
        outbox.log({ ...row, at: Date.now(), outcome: 'sent', error: null, attempt: this.attempt });
        this.n.metrics?.sent(name);
        this.attempt = 0;
        this.failing = undefined;
      } catch (err) {
        this.attempt++;
        this.n.metrics?.failed(name);
        const e = err as Error & { code?: string };
        const message = `${e.message}${e.code ? ` [${e.code}]` : ''}`;
        const rejected = e.code === 'PLANTA_NOTIFY_REJECTED' && this.attempt >= REJECTED_ATTEMPTS;
        outbox.log({ ...row, at: Date.now(), outcome: rejected ? 'rejected' : 'failed', error: message, attempt: this.attempt });
        if (rejected) {
          this.n.o.log?.error({ channel: name, err: message, subject: r.subject }, 'notifications: the receiver refused a notification; it is logged and not tried again');
          outbox.done(name, item.seq);
          this.attempt = 0;
          this.failing = undefined;
          continue;
        }
        const wait = Math.min(this.n.o.config.retry.first * 2 ** (this.attempt - 1), this.n.o.config.retry.max);
        this.failing = { error: message, attempt: this.attempt, nextTry: Date.now() + wait };
        this.n.o.log?.warn({ channel: name, err: message, attempt: this.attempt, retryInMs: wait }, 'notifications: sending failed, retrying');
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, wait);
          this.endSleep = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.endSleep = undefined;
      }
    }
  }
}

export class Notifier {
  private readonly policy: NotifyPolicy;
  readonly metrics: NotifyMetrics | undefined;
  private readonly couriers = new Map<string, Courier>();
  private readonly timeZone: string;
  private stopFeed: (() => Promise<void>) | undefined;
  /** Where messages link to when the configuration names no hmiUrl: the web server beside (planta start). */
  private fallbackHmiUrl: string | undefined;

  constructor(readonly o: NotifierOptions) {
    this.timeZone = o.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
    for (const [name, c] of Object.entries(o.config.channels)) this.couriers.set(name, new Courier(createChannel(name, c, o.channelOptions), this));
    this.metrics = o.registry ? registerNotifyMetrics(o.registry, [...this.couriers.keys()], (c) => o.outbox.pending(c)) : undefined;
    this.policy = new NotifyPolicy({
      config: o.config,
      ...(o.timeZone ? { timeZone: o.timeZone } : {}),
      clock: o.clock ?? realClock,
      emit: (notices) => this.enqueue(notices),
      onError: (err) => o.log?.error({ err }, 'notifications: a digest, flood message or escalation could not be written to the outbox'),
      escalated: o.outbox,
      held: o.outbox,
    });
  }

  /** The words of a notification for a channel, at `now`. */
  context(channel: Channel, now: number): RenderContext {
    const language = this.o.config.channels[channel.name]?.language ?? this.o.config.language;
    const texts = this.o.texts;
    return {
      plant: texts?.plant(language) ?? this.o.plant,
      timeZone: this.timeZone,
      language,
      ...(texts ? { message: (id: string) => texts.alarm(id, language, words(language)) } : {}),
      now,
      lateMs: this.o.config.late,
      ...((this.o.config.hmiUrl ?? this.fallbackHmiUrl) ? { hmiUrl: this.o.config.hmiUrl ?? this.fallbackHmiUrl } : {}),
      ...(channel.onCall ? { onCall: channel.onCall } : {}),
    };
  }

  /** The HMI's address for the links when the configuration names none (planta start: its own web server). */
  linkTo(url: string): void {
    this.fallbackHmiUrl = url;
  }

  /**
   * Follows the alarms on the bus (durable: on Redis, a restart resumes where it stopped) and starts sending;
   * with `send: false` what it queues waits until start() (planta start: once its web server, the links' target, listens).
   */
  async attach(bus: AlarmFeedBus, durable = 'notify', o: { send?: boolean } = {}): Promise<void> {
    const feed = await followAlarms(bus, durable, {
      states: (states) => this.policy.start(states),
      entries: (entries) => this.entries(entries),
    });
    this.policy.setSource(feed.source);
    this.stopFeed = feed.stop;
    if (o.send !== false) this.start();
  }

  /** Starts the couriers (what an earlier run left in the outbox goes first). */
  start(): void {
    for (const c of this.couriers.values()) c.start();
  }

  /** Starts the policy from the alarms' states (without a bus: tests). */
  states(states: AlarmState[]): void {
    this.policy.start(states);
  }

  async entries(entries: JournalEntry[]): Promise<void> {
    for (const e of entries) await this.policy.entry(e);
  }

  /** Throws when the outbox cannot take them: on the Redis bus the journal entries stay pending and come again. */
  private enqueue(notices: NewNotice[]): void {
    const now = Date.now();
    for (const n of notices) {
      const notice: Notice = { ...n, queuedAt: now };
      const dropped = this.o.outbox.enqueue(notice);
      if (dropped > 0) {
        this.o.log?.error({ dropped, path: this.o.outbox.path }, 'notifications: the outbox is full; its oldest notifications were dropped');
        this.o.outbox.log({ at: now, channel: n.channel, to: this.couriers.get(n.channel)?.channel.target ?? '', kind: n.kind, alarm: null, subject: `${dropped} older notification(s) dropped: the outbox is full`, outcome: 'dropped', error: null, attempt: 0, late: false, queuedAt: now });
      }
      this.couriers.get(n.channel)?.kick();
    }
  }

  /** Sends a test message to a channel now, past the outbox; throws its NotifyError when it fails. */
  async test(name: string): Promise<{ subject: string; target: string }> {
    const courier = this.couriers.get(name);
    if (!courier) throw new NotifyError('PLANTA_NOTIFY_UNKNOWN_CHANNEL', `no channel "${name}" (channels: ${[...this.couriers.keys()].join(', ') || 'none'})`);
    const now = Date.now();
    const r = render({ kind: 'test', channel: name, at: now, queuedAt: now }, this.context(courier.channel, now));
    const row = { channel: name, to: courier.channel.target, kind: 'test' as const, alarm: null, subject: r.subject, late: false, queuedAt: now, attempt: 1 };
    try {
      await courier.channel.send(r);
    } catch (err) {
      this.o.outbox.log({ ...row, at: Date.now(), outcome: 'failed', error: (err as Error).message });
      throw err;
    }
    this.o.outbox.log({ ...row, at: Date.now(), outcome: 'sent', error: null });
    return { subject: r.subject, target: courier.channel.target };
  }

  status(o: { limit?: number; before?: number } = {}): NotificationStatus {
    return {
      channels: [...this.couriers.values()].map((c) => ({
        name: c.channel.name,
        kind: c.channel.kind,
        target: c.channel.target,
        ...(c.channel.onCall ? { onCall: c.channel.onCall } : {}),
        queued: this.o.outbox.pending(c.channel.name),
        ...(c.failing ? { failing: c.failing } : {}),
      })),
      log: this.o.outbox.recent(Math.min(o.limit ?? 100, 500), o.before),
    };
  }

  async stop(): Promise<void> {
    await this.stopFeed?.();
    this.policy.stop();
    for (const c of this.couriers.values()) await c.stop();
    for (const c of this.couriers.values()) c.channel.close();
  }
}
