/**
 * External peers (pymodbus, mbpoll, libmodbus, Redis, Chromium...) may be
 * missing on a laptop, where their tests skip. CI sets PLANTA_REQUIRE_PEERS=1:
 * there a missing peer fails the test instead of skipping it silently.
 */
import type { TestContext } from 'node:test';

export const REQUIRE_PEERS = process.env.PLANTA_REQUIRE_PEERS === '1';

/** Returns true when the peer is there; otherwise skips (laptop) or throws (CI). */
export function needPeer(t: TestContext, available: boolean, what: string): boolean {
  if (available) return true;
  if (REQUIRE_PEERS) throw new Error(`${what} is required (PLANTA_REQUIRE_PEERS=1) but missing`);
  t.skip(`${what} is not installed`);
  return false;
}
