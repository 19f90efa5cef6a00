/** The words of a bar's `limitsWhen:` (kept together for the message catalogue). */
export const LIMITS_TEXT = {
  /** The limits are off because their condition is false. */
  onlyWhen: (what: string): string => `limit applies only when: ${what}`,
  /** The limits are off because a value their condition needs is not Good. */
  unknown: (what: string, why: string): string => `limits not applied: ${what} is not known (${why})`,
  /** The condition itself cannot be read (a server newer or older than this page). */
  unreadable: (text: string): string => `limits not applied: cannot read the condition "${text}"`,
} as const;
