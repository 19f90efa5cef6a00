/**
 * Annunciation in this browser: a short tone, generated with WebAudio (no
 * sound files), when a new unacknowledged alarm arrives, repeated gently
 * while a critical or high alarm waits for its acknowledgement; and a pulse
 * counter the banner uses to draw the eye to a new alarm.
 *
 * Browsers refuse to play sound before the user has touched the page, so
 * the audio is armed by the first click or key press (the AudioContext is
 * made inside that gesture). Until then, and when the browser has no
 * WebAudio at all, nothing plays and nothing throws. "Mute sound" is this
 * browser's choice, remembered in localStorage; the plant's horn belongs to
 * the PLC and is silenced with the "Silence the horn" command.
 */
import { type Signal, signal } from '@preact/signals';
import type { AlarmPriority } from '../../../src/web/protocol.js';

export type ToneKind = 'new' | 'repeat';

export interface ToneTiming {
  /** Least time between two tones, however many alarms arrive (a flood is not a siren). Default 2000 ms. */
  minGapMs: number;
  /** The reminder while a critical or high alarm is unacknowledged. Default 10000 ms. */
  repeatMs: number;
}

export const DEFAULT_TIMING: ToneTiming = { minGapMs: 2000, repeatMs: 10_000 };

/**
 * Which tone is due now, if any: a new alarm's (as soon as the least gap
 * allows), else the reminder while an urgent alarm is unacknowledged.
 */
export function toneDue(o: { now: number; lastToneAt: number; pendingNew: boolean; urgentUnacked: boolean; muted: boolean; timing?: ToneTiming }): ToneKind | null {
  if (o.muted) return null;
  const t = o.timing ?? DEFAULT_TIMING;
  const since = o.now - o.lastToneAt;
  if (o.pendingNew) return since >= t.minGapMs ? 'new' : null;
  if (o.urgentUnacked && since >= t.repeatMs) return 'repeat';
  return null;
}

interface ParamLike {
  setValueAtTime(value: number, when: number): unknown;
  exponentialRampToValueAtTime(value: number, when: number): unknown;
}

/** The part of the Web Audio API the tones use (an AudioContext has it; tests stand in for it). */
export interface ToneContext {
  readonly state: string;
  readonly currentTime: number;
  readonly destination: unknown;
  resume(): Promise<void>;
  createOscillator(): { type: string; frequency: ParamLike; connect(to: unknown): unknown; start(when?: number): void; stop(when?: number): void };
  createGain(): { gain: ParamLike; connect(to: unknown): unknown };
}

/** Where "Mute sound" is remembered (localStorage in a browser). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/** One short tone: two notes for a new alarm, one softer note for a reminder; higher for critical and high. */
export function playTone(ctx: ToneContext, kind: ToneKind, priority: AlarmPriority | null): void {
  const urgent = priority === 'critical' || priority === 'high';
  const notes = kind === 'new' ? (urgent ? [988, 784] : [784, 659]) : [urgent ? 784 : 659];
  const peak = kind === 'new' ? 0.18 : 0.1;
  let t = ctx.currentTime + 0.01;
  for (const f of notes) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = 'sine';
    osc.frequency.setValueAtTime(f, t);
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(peak, t + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.22);
    osc.connect(gain);
    gain.connect(ctx.destination);
    osc.start(t);
    osc.stop(t + 0.25);
    t += 0.18;
  }
}

export type AudioReadiness =
  /** No gesture yet: the browser would refuse to play. */
  | 'waiting'
  | 'ready'
  /** No WebAudio in this browser, or it failed. */
  | 'unavailable';

const KEY = 'planta.sound';

export interface AnnunciatorOptions {
  /** Makes the audio context (called inside a user gesture). Returns null without WebAudio. */
  createContext?: () => ToneContext | null;
  storage?: KeyValueStore | null;
  now?: () => number;
  timing?: ToneTiming;
  play?: (ctx: ToneContext, kind: ToneKind, priority: AlarmPriority | null) => void;
}

function browserContext(): ToneContext | null {
  const w = globalThis as unknown as { AudioContext?: new () => ToneContext; webkitAudioContext?: new () => ToneContext };
  const Ctor = w.AudioContext ?? w.webkitAudioContext;
  return Ctor ? new Ctor() : null;
}

function browserStorage(): KeyValueStore | null {
  try {
    return (globalThis as unknown as { localStorage?: KeyValueStore }).localStorage ?? null;
  } catch {
    return null;
  }
}

function readMuted(storage: KeyValueStore | null): boolean {
  try {
    return storage?.getItem(KEY) === 'muted';
  } catch {
    return false;
  }
}

export class Annunciator {
  readonly muted: Signal<boolean>;
  readonly audio: Signal<AudioReadiness> = signal('waiting');
  /** Counts new unacknowledged alarms: the banner pulses when it changes. */
  readonly pulse: Signal<number> = signal(0);
  /** Tones played (for the screen's "last tone" and for tests). */
  readonly tones: Signal<number> = signal(0);
  private ctx: ToneContext | null = null;
  private lastToneAt = -Infinity;
  private pendingNew = false;
  private pendingPriority: AlarmPriority | null = null;
  private readonly now: () => number;
  private readonly storage: KeyValueStore | null;

  constructor(private readonly o: AnnunciatorOptions = {}) {
    this.now = o.now ?? Date.now;
    this.storage = o.storage === undefined ? browserStorage() : o.storage;
    this.muted = signal(readMuted(this.storage));
  }

  /** A user gesture: the moment the browser lets a page make sound. Safe to call on every click. */
  arm(): void {
    try {
      if (!this.ctx) {
        this.ctx = (this.o.createContext ?? browserContext)();
        if (!this.ctx) {
          this.audio.value = 'unavailable';
          return;
        }
      }
      if (this.ctx.state === 'suspended') {
        this.ctx.resume().then(
          () => {
            this.audio.value = 'ready';
          },
          () => {
            this.audio.value = 'waiting';
          },
        );
      } else if (this.ctx.state !== 'closed') {
        this.audio.value = 'ready';
      }
    } catch {
      this.ctx = null;
      this.audio.value = 'unavailable';
    }
  }

  setMuted(muted: boolean): void {
    this.muted.value = muted;
    if (muted) this.pendingNew = false;
    try {
      this.storage?.setItem(KEY, muted ? 'muted' : 'on');
    } catch {
      // private mode: the choice lasts for this page only
    }
  }

  /** New unacknowledged alarms arrived: pulse now, and a tone as soon as allowed. */
  noteNew(priority: AlarmPriority | null, urgentUnacked: boolean): void {
    this.pulse.value++;
    if (!this.muted.value) {
      this.pendingNew = true;
      this.pendingPriority = priority;
    }
    this.tick(urgentUnacked, priority);
  }

  /** Called every second (and on news): plays the tone that is due, if any. */
  tick(urgentUnacked: boolean, highest: AlarmPriority | null): void {
    const now = this.now();
    const due = toneDue({ now, lastToneAt: this.lastToneAt, pendingNew: this.pendingNew, urgentUnacked, muted: this.muted.value, ...(this.o.timing ? { timing: this.o.timing } : {}) });
    if (!due) return;
    const priority = due === 'new' ? this.pendingPriority : highest;
    this.pendingNew = false;
    this.lastToneAt = now;
    // Before the first gesture the browser would refuse: the tone is skipped, not queued.
    if (!this.ctx || this.audio.value !== 'ready') return;
    try {
      (this.o.play ?? playTone)(this.ctx, due, priority);
      this.tones.value++;
    } catch {
      this.audio.value = 'unavailable';
    }
  }
}
