/** The shape of one area of the error catalogue (src/errors.ts puts them together). */

export interface CodeEntry {
  /** The HTTP status the code is answered with; several when it depends on the case (the first is the usual one); none when no request is answered with it. */
  readonly status?: number | readonly number[];
  /** What it means for the person who meets it, in one line. */
  readonly meaning: string;
}

export interface Area {
  /** The heading of the area on docs/error-codes.md. */
  readonly title: string;
  /** Where its codes are met. */
  readonly intro: string;
  readonly codes: Readonly<Record<`PLANTA_${string}`, CodeEntry>>;
}
