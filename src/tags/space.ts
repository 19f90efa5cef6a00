/**
 * A plant's tag index space: every tag of the configuration, in its order.
 * The web's stream names a value by its index in this list (src/web/protocol.ts
 * StreamValue), and the Redis bus carries a scan report already in that form
 * (src/bus/redis/codec.ts encodeScan) when the poller and the web node share
 * the space — which its id, a hash of the names in order, tells them.
 */
import { createHash } from 'node:crypto';

export interface TagSpace {
  /** 16 hex digits of the SHA-256 of the names, each ended by a newline. */
  readonly id: string;
  readonly names: readonly string[];
  readonly index: ReadonlyMap<string, number>;
}

export function tagSpace(names: readonly string[]): TagSpace {
  const hash = createHash('sha256');
  for (const n of names) hash.update(`${n}\n`);
  return { id: hash.digest('hex').slice(0, 16), names, index: new Map(names.map((n, i) => [n, i])) };
}
