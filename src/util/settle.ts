/** Whether `p` settles within `ms` (a rejection counts as `rejected`); `p` goes on either way, and its rejection is taken care of here. */
async function within(p: Promise<unknown>, ms: number, rejected: boolean): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([p.then(() => true, () => rejected), new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)))]);
  clearTimeout(timer);
  return settled;
}

/** Whether `p` settles (either way) within `ms`; `p` goes on either way, and its rejection is taken care of here. */
export const settlesWithin = (p: Promise<unknown>, ms: number): Promise<boolean> => within(p, ms, true);

/** Whether `p` resolves within `ms` (a rejection is a no); `p` goes on either way. */
export const resolvesWithin = (p: Promise<unknown>, ms: number): Promise<boolean> => within(p, ms, false);
