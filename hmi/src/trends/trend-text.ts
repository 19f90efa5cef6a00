/** The trend's new words: limit lines and phase bands (kept together for the message catalogue). */
export const TREND_TEXT = {
  /** The label at a limit line's end, e.g. "H 8.00" (a "?" when its tag is not Good). */
  limitMark: (kind: 'low' | 'high', value: string, good: boolean): string => `${kind === 'high' ? 'H' : 'L'} ${value}${good ? '' : ' ?'}`,
  /** The caption's sentence on the limit lines. */
  limits: (list: string): string => `Dashed lines: the configured limits (${list}).`,
  limit: (pen: string, kind: 'low' | 'high', value: string, good: boolean): string => `${pen} ${kind} ${value}${good ? '' : ' (not known good)'}`,
  /** The caption's sentence on the phase bands. */
  bands: (phases: string): string => `Shaded bands: the phases (${phases}), each named at its top.`,
} as const;
