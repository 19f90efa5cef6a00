/** Durations in the configuration: a number of milliseconds or a string such as 500ms, 2s or 1m. */
import { z } from 'zod';
import { parseDuration } from '../util/duration.js';

/** A duration above zero, in milliseconds. */
export const duration = z
  .union([z.number(), z.string()])
  .transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined || ms <= 0) {
      ctx.addIssue({ code: 'custom', message: 'expected a duration such as 500ms, 2s or 1m' });
      return z.NEVER;
    }
    return ms;
  })
  .meta({ format: 'duration', exclusiveMinimum: 0 });
