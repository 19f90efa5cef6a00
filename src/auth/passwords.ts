/**
 * Passwords: scrypt (node:crypto) with a random salt, compared in constant
 * time; a minimum length and a list of common passwords refused.
 *
 *   stored form: scrypt$<log2 N>$<r>$<p>$<salt base64url>$<hash base64url>
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { PlantaError } from '../errors.js';
import { COMMON_PASSWORDS } from './common-passwords.js';

export const MIN_PASSWORD_LENGTH = 12;
const LOG_N = 15;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

export class WeakPasswordError extends PlantaError<'PLANTA_AUTH_WEAK_PASSWORD'> {
  constructor(message: string) {
    super('PLANTA_AUTH_WEAK_PASSWORD', message);
  }
}

function derive(password: string, salt: Buffer, logN: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, { N: 2 ** logN, r, p, maxmem: 256 * 2 ** logN * r }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** Throws WeakPasswordError saying what is wrong. */
export function checkStrength(password: string, user: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) throw new WeakPasswordError(`a password needs at least ${MIN_PASSWORD_LENGTH} characters`);
  const lower = password.toLowerCase();
  if (COMMON_PASSWORDS.has(lower)) throw new WeakPasswordError('that password is on the list of common passwords');
  if (lower.includes(user.toLowerCase()) && user.length >= 3) throw new WeakPasswordError('a password must not contain the user name');
  if (new Set(password).size < 5) throw new WeakPasswordError('a password needs more different characters');
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await derive(password, salt, LOG_N, R, P);
  return `scrypt$${LOG_N}$${R}$${P}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, logN, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const got = await derive(password, Buffer.from(salt, 'base64url'), Number(logN), Number(r), Number(p));
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** A hash of nothing, verified against when the user does not exist, so timing does not tell who exists. */
export const DUMMY_HASH = `scrypt$${LOG_N}$${R}$${P}$${Buffer.alloc(16).toString('base64url')}$${Buffer.alloc(KEY_LENGTH).toString('base64url')}`;

/** As many passwords as the hasher takes are being checked or waiting: try again in a second. */
export class HasherBusyError extends PlantaError<'PLANTA_AUTH_BUSY'> {
  readonly retryAfterS = 1;
  constructor() {
    super('PLANTA_AUTH_BUSY', 'too many sign-ins at once: try again in a second');
  }
}

/** A place in the hasher's queue, taken at once: the hash it runs waits for its turn. */
export interface HashTicket {
  run<T>(f: () => Promise<T>): Promise<T>;
}

/**
 * Bounds password hashing: scrypt runs on libuv's thread pool (4 threads),
 * where static files and DNS wait too, and takes a core while it runs, so
 * at most `concurrency` hashes run at once (2, or 1 on a machine of 2 cores,
 * leaving one to the event loop) and at most `queue` more wait; beyond
 * that, refused at once.
 */
export class PasswordHasher {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private admitted = 0;

  constructor(readonly o: { concurrency: number; queue: number } = { concurrency: Math.max(1, Math.min(2, availableParallelism() - 1)), queue: 8 }) {}

  /** Whether a password would be refused now (a cheap check before anything else is done for it). */
  full(): boolean {
    return this.admitted >= this.o.concurrency + this.o.queue;
  }

  /** A place in the queue, or HasherBusyError when it is full; the place is given back when its hash is done. */
  admit(): HashTicket {
    if (this.full()) throw new HasherBusyError();
    this.admitted++;
    return {
      run: async <T>(f: () => Promise<T>): Promise<T> => {
        // A slot freed is handed to the next waiting, so none is taken past the limit in between.
        if (this.running >= this.o.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
        else this.running++;
        try {
          return await f();
        } finally {
          this.admitted--;
          const next = this.waiting.shift();
          if (next) next();
          else this.running--;
        }
      },
    };
  }
}
