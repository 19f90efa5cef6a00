/** Preloaded by `npm run fuzz`: every fast-check property runs PLANTA_FUZZ_RUNS times (default 5000). */
import fc from 'fast-check';

fc.configureGlobal({ numRuns: Number(process.env.PLANTA_FUZZ_RUNS ?? 5000) });
