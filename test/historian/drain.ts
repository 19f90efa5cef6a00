import type { Historian } from '../../src/historian/historian.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Flushes until the store's buffer is forwarded (its retries back off from
 * `retryMs`), polling every `everyMs`. A failed flush fails at once, as it
 * would outside waitFor (which only retries a check that throws).
 */
export async function drain(h: Historian, timeoutMs = 5000, everyMs = 10): Promise<void> {
  let failed: unknown;
  await waitFor('the buffer forwarded', async () => {
    await h.flush().catch((err: unknown) => void (failed ??= err));
    return failed !== undefined || (h.store.buffer?.().samples ?? 0) === 0;
  }, timeoutMs, everyMs);
  if (failed !== undefined) throw failed;
}
