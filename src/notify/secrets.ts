/**
 * Secrets of the channels, never written in the configuration: `env:NAME`
 * (an environment variable) or `file:PATH` (a file, relative to the working
 * directory). Read when the channel is made, so a secret changed on disk
 * takes effect at the next start.
 */
import { readFileSync } from 'node:fs';
import { NotifyError } from './errors.js';

function missing(what: string, why: string): NotifyError {
  return new NotifyError('PLANTA_NOTIFY_SECRET_MISSING', `${what}: ${why}`);
}

/** The lines of the file or the value of the variable a reference names. */
function read(ref: string, what: string, env: NodeJS.ProcessEnv): string {
  if (ref.startsWith('env:')) {
    const v = env[ref.slice(4)];
    if (v === undefined || v === '') throw missing(what, `environment variable ${ref.slice(4)} is not set`);
    return v;
  }
  const path = ref.slice(5);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw missing(what, `cannot read ${path}: ${(err as Error).message}`);
  }
}

/** A single secret (a webhook's key or URL): the variable, or the file's first line. */
export function readSecret(ref: string, what: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!ref.startsWith('env:') && !ref.startsWith('file:')) return ref;
  const value = ref.startsWith('env:') ? read(ref, what, env) : (read(ref, what, env).split(/\r?\n/)[0] ?? '').trim();
  if (!value) throw missing(what, `${ref} is empty`);
  return value;
}

/** SMTP credentials: env:PREFIX → PREFIX_USER and PREFIX_PASSWORD; file:PATH → user on the first line, password on the second. */
export function readCredentials(ref: string, what: string, env: NodeJS.ProcessEnv = process.env): { user: string; pass: string } {
  if (ref.startsWith('env:')) {
    const prefix = ref.slice(4);
    return { user: read(`env:${prefix}_USER`, what, env), pass: read(`env:${prefix}_PASSWORD`, what, env) };
  }
  const [user = '', pass = ''] = read(ref, what, env).split(/\r?\n/);
  if (!user.trim() || !pass) throw missing(what, `${ref.slice(5)}: expected the user on the first line and the password on the second`);
  return { user: user.trim(), pass };
}
