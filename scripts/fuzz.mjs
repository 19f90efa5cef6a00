#!/usr/bin/env node
// The long fuzz run: the Modbus codec, decoder, client and server properties and
// the HTTP API fuzzing, with PLANTA_FUZZ_RUNS (default 5000) runs per property.
import { spawn } from 'node:child_process';

const runs = process.env.PLANTA_FUZZ_RUNS ?? '5000';
const child = spawn(
  process.execPath,
  ['scripts/run-tests.mjs', '--import=./test/helpers/fuzz-config.ts', 'test/fuzz', 'test/modbus', 'test/poller/plan', 'test/hmi/sse-parser'],
  { stdio: 'inherit', env: { ...process.env, PLANTA_FUZZ_RUNS: runs } },
);
child.on('exit', (code) => process.exit(code ?? 1));
