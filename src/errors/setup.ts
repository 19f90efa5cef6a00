import type { Area } from './area.js';

export const SETUP = {
  title: 'Configuration and the command line',
  intro: '`planta check` and every `planta` command that loads a configuration stop with these; a wrong command line exits with status 2.',
  codes: {
    PLANTA_CONFIG_INVALID: { meaning: 'The configuration has problems; each is listed with its file, line, column and field.' },
    PLANTA_CONFIG_CONDITION: { meaning: 'A condition (requires, relations, expect) is not a valid expression; the problem names it.' },
    PLANTA_CLI_USAGE: { meaning: 'An option or argument of the command line is not valid; the message says which.' },
  },
} as const satisfies Area;
