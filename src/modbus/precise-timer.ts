/**
 * A timer finer than Node's. Node's timers count whole milliseconds on the
 * event loop's clock: a wait of 1.75 ms (t3.5 above 19200 baud) fires 2 to
 * 3 ms later, which is a third of an exchange at 115200 baud; waiting turn by
 * turn of the event loop instead is exact but keeps a CPU busy, and on a
 * loaded machine takes it from the processes at the other end of the line.
 *
 * Here one worker thread per process sleeps in Atomics.wait (a futex, whose
 * timeout the kernel keeps to tens of microseconds) until the earliest
 * deadline and then posts a message, which wakes the event loop at once. It
 * spends no CPU while it waits; it is made on first use, so that a process
 * without a serial line never starts it. The message takes ≈ 0.2 ms to wake
 * the event loop (3 % of an exchange at 115200 baud), so the worker wakes
 * that much early and the last of it is waited turn by turn: ≤ SPIN_NS of
 * busy CPU per wait.
 */
import { Worker } from 'node:worker_threads';

/** The worker: sleeps until the deadline in `deadline[0]` (ns on process.hrtime's clock; 0: none), posts it, waits for the next. */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const seq = new Int32Array(workerData, 0, 1);
const deadline = new Float64Array(workerData, 8, 1);
for (;;) {
  const s = Atomics.load(seq, 0);
  const at = deadline[0];
  if (at === 0) { Atomics.wait(seq, 0, s); continue; }
  const left = (at - Number(process.hrtime.bigint())) / 1e6;
  if (left > 0) { Atomics.wait(seq, 0, s, left); continue; }
  if (Atomics.load(seq, 0) !== s) continue;
  deadline[0] = 0;
  parentPort.postMessage(at);
}
`;

interface Entry {
  at: number;
  fire: () => void;
}

const nowNs = (): number => Number(process.hrtime.bigint());

/** How early the worker wakes the event loop; the rest is spun. */
const SPIN_NS = 250_000;

/** The process's fine timers, one worker for all. */
class PreciseTimers {
  private worker: Worker | undefined;
  private readonly shared = new SharedArrayBuffer(16);
  private readonly seq = new Int32Array(this.shared, 0, 1);
  private readonly deadline = new Float64Array(this.shared, 8, 1);
  private entries: Entry[] = [];

  /** Calls `fire` once `ms` have passed (to tens of microseconds); returns a function that cancels it. */
  after(ms: number, fire: () => void): () => void {
    const entry: Entry = { at: nowNs() + ms * 1e6, fire };
    this.entries.push(entry);
    this.arm();
    return () => {
      const i = this.entries.indexOf(entry);
      if (i < 0) return;
      this.entries.splice(i, 1);
      this.arm();
    };
  }

  private start(): Worker {
    const w = new Worker(WORKER, { eval: true, workerData: this.shared });
    w.on('message', () => this.due());
    w.on('error', () => undefined);
    // Only the timers waiting keep the process alive (see arm()).
    w.unref();
    this.worker = w;
    return w;
  }

  /** Tells the worker the earliest deadline (or none); while one waits, the worker keeps the process alive. */
  private arm(): void {
    const w = this.worker ?? this.start();
    let earliest = 0;
    for (const e of this.entries) if (earliest === 0 || e.at < earliest) earliest = e.at;
    this.deadline[0] = earliest === 0 ? 0 : Math.max(1, earliest - SPIN_NS);
    Atomics.add(this.seq, 0, 1);
    Atomics.notify(this.seq, 0);
    if (earliest === 0) w.unref();
    else w.ref();
  }

  private due(): void {
    const soon = nowNs() + SPIN_NS;
    const fired = this.entries.filter((e) => e.at <= soon).sort((a, b) => a.at - b.at);
    this.entries = this.entries.filter((e) => e.at > soon);
    this.arm();
    for (const e of fired) {
      while (nowNs() < e.at) {
        /* the last ≤ SPIN_NS of the wait */
      }
      e.fire();
    }
  }
}

let timers: PreciseTimers | undefined;

/** Calls `fire` once `ms` have passed, to tens of microseconds, without a busy CPU; returns a function that cancels it. */
export function preciseTimeout(ms: number, fire: () => void): () => void {
  timers ??= new PreciseTimers();
  return timers.after(ms, fire);
}
