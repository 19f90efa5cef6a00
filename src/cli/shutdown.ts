/** Stops what a command started on SIGINT/SIGTERM, within a bound, then exits. */
const handlers: (() => Promise<void> | void)[] = [];
let installed = false;

export function onShutdown(handler: () => Promise<void> | void, boundMs = 10_000): void {
  handlers.push(handler);
  if (installed) return;
  installed = true;
  const stop = (signal: NodeJS.Signals): void => {
    console.log(`planta: ${signal}, stopping`);
    const timer = setTimeout(() => {
      console.error(`planta: not stopped within ${boundMs} ms, exiting anyway`);
      process.exit(1);
    }, boundMs);
    timer.unref();
    Promise.allSettled(handlers.map((h) => h())).then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
