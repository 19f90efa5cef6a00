/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 5000, everyMs = 20): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Checks `assertions` at every poll for `windowMs`, and once more at its end;
 * the first failure throws at once. This is the one wait a condition cannot
 * replace: a window in which something must NOT happen (no second write, no
 * event). The caller says why the window is as long as it is.
 */
export async function assertThroughout(windowMs: number, assertions: () => void | Promise<void>, everyMs = 20): Promise<void> {
  const end = Date.now() + windowMs;
  for (;;) {
    // The time first: the assertions are checked once more after the window ended.
    const ended = Date.now() >= end;
    await assertions();
    if (ended) return;
    await sleep(Math.min(everyMs, Math.max(1, end - Date.now())));
  }
}

/**
 * Waits for `p` at most `ms`, then throws naming `what`: a test's cleanup that
 * would otherwise wait forever (a stop that hangs) fails at once instead.
 */
export async function settleWithin<T>(what: string, p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
