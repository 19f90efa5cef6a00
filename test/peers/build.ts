/**
 * Compiles the C peers in test/peers/c/ against Debian's libmodbus-dev into
 * build/peers/ (not committed), once per source change. Returns undefined when
 * gcc or libmodbus is missing, so a laptop can skip; CI installs both.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const outDir = join(root, 'build', 'peers');

export function hasLibmodbus(): boolean {
  return existsSync('/usr/include/modbus/modbus.h') && commandExists('gcc');
}

export function commandExists(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Path of the compiled peer `name` (from test/peers/c/NAME.c), building it if needed. */
export function buildPeer(name: string, { libmodbus = true } = {}): string | undefined {
  if (!commandExists('gcc') || (libmodbus && !hasLibmodbus())) return undefined;
  const src = join(root, 'test', 'peers', 'c', `${name}.c`);
  const bin = join(outDir, name);
  if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(src).mtimeMs) return bin;
  mkdirSync(outDir, { recursive: true });
  // Build beside and rename, so test files running in parallel never see half a binary.
  const tmp = `${bin}.${process.pid}.tmp`;
  const flags = ['-O2', '-Wall', '-o', tmp, src];
  if (libmodbus) flags.push('-I/usr/include/modbus', '-lmodbus');
  execFileSync('gcc', flags, { stdio: 'inherit' });
  renameSync(tmp, bin);
  return bin;
}
