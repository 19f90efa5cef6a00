/**
 * npm run bench: every bench:* script of package.json in turn, with short
 * durations (--full: each bench's own defaults), its goal lines (bench/goal.ts)
 * collected into one table at the end.
 *
 * Exits non-zero only when a bench crashed: a missed goal is a finding, not a
 * failure of the run. A bench that exits non-zero having printed a MISSED goal
 * line missed; exiting non-zero otherwise (no goal line, every goal met, killed
 * by a signal) is a crash.
 *
 * usage: npm run bench [-- --full] [-- --only poller,contention] [-- --skip soak]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { type GoalResult, parseGoal } from '../bench/goal.js';

/** Each bench's short run: a few seconds of measure, enough for its goal lines. */
const SHORT: Record<string, string[]> = {
  'bench:modbus': ['--count', '20000', '--rounds', '1'],
  'bench:rtu': ['--seconds', '2'],
  'bench:poller': ['--seconds', '3'],
  'bench:contention': ['--seconds', '4'],
  'bench:stream': ['--seconds', '2', '--rounds', '1'],
  'bench:commands': ['--count', '60'],
  'bench:soak': ['--minutes', '1'],
  'bench:historian': ['--samples', '500000', '--naive-samples', '250000'],
  'bench:distributed': ['--seconds', '4', '--rounds', '1'],
  'bench:historian-trend': ['--seconds', '8'],
  'bench:failover': ['--rounds', '1'],
  'bench:hmi': ['--rounds', '1'],
  'bench:northbound': ['--seconds', '5'],
  'bench:replay': ['--every', '3600', '--moments', '10'],
};

const args = process.argv.slice(2);
const list = (name: string): string[] | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? '').split(',').filter(Boolean).map((s) => (s.startsWith('bench:') ? s : `bench:${s}`)) : undefined;
};
const full = args.includes('--full');
const only = list('only');
const skip = list('skip') ?? [];

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
const benches = Object.keys(pkg.scripts).filter((s) => s.startsWith('bench:') && (!only || only.includes(s)) && !skip.includes(s));
for (const o of only ?? []) if (!(o in pkg.scripts)) throw new Error(`no script ${o} in package.json (benches: ${Object.keys(pkg.scripts).filter((s) => s.startsWith('bench:')).join(', ')})`);

interface Outcome {
  bench: string;
  seconds: number;
  status: 'ran' | 'missed' | 'crashed';
  why?: string;
  goals: GoalResult[];
}

function runBench(bench: string): Promise<Outcome> {
  const extra = full ? [] : (SHORT[bench] ?? []);
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', bench, ...(extra.length > 0 ? ['--', ...extra] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
    const goals: GoalResult[] = [];
    let rest = '';
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) {
        const g = parseGoal(l);
        if (g) goals.push(g);
      }
    });
    child.on('close', (code, signal) => {
      const g = parseGoal(rest);
      if (g) goals.push(g);
      const seconds = (performance.now() - t0) / 1000;
      const missed = goals.some((x) => !x.met);
      if (code === 0) return resolve({ bench, seconds, status: 'ran', goals });
      if (signal === null && missed) return resolve({ bench, seconds, status: 'missed', goals });
      const why = signal !== null ? `killed by ${signal}` : goals.length === 0 ? `exit ${code}, no goal line` : `exit ${code} with every goal met`;
      resolve({ bench, seconds, status: 'crashed', why, goals });
    });
  });
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(`npm run bench — ${benches.length} benches${full ? '' : ' (short runs; --full for their own durations)'}; ${availableParallelism()} CPUs (${cpu}), node ${process.version}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const outcomes: Outcome[] = [];
for (const b of benches) {
  console.log(`\n━━ ${b}${!full && SHORT[b] ? ` ${SHORT[b].join(' ')}` : ''}`);
  outcomes.push(await runBench(b));
}

console.log(`\n━━ summary (load ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
const w = Math.max(...outcomes.flatMap((o) => o.goals.map((g) => g.name.length)), 20);
for (const o of outcomes) {
  console.log(`${o.bench} (${o.seconds.toFixed(0)} s)${o.status === 'crashed' ? `  CRASHED: ${o.why}` : ''}`);
  if (o.goals.length === 0 && o.status !== 'crashed') console.log('  (no goal line)');
  for (const g of o.goals) console.log(`  ${g.met ? 'MET   ' : 'MISSED'}  ${g.name.padEnd(w)}  ${g.measured}  (goal: ${g.goal})`);
}
const goals = outcomes.flatMap((o) => o.goals);
const crashed = outcomes.filter((o) => o.status === 'crashed');
console.log(`\n${goals.filter((g) => g.met).length} of ${goals.length} goals met; ${crashed.length} of ${outcomes.length} benches crashed${crashed.length > 0 ? ` (${crashed.map((o) => o.bench).join(', ')})` : ''}`);
process.exitCode = crashed.length > 0 ? 1 : 0;
