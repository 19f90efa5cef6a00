import type { Area } from './area.js';

export const HMI = {
  title: 'In the browser',
  intro: 'The HMI names what went wrong on its side with these (no server sent them).',
  codes: {
    PLANTA_NO_ANSWER: { meaning: 'The server did not answer (the network or the server is down): the action may or may not have been done.' },
    PLANTA_HTTP_STATUS: { meaning: "The server answered with an error status and no Planta error (a proxy's page, or a server of another version)." },
    PLANTA_NOTHING_SELECTED: { meaning: 'Acknowledge was pressed with no unacknowledged alarm selected.' },
  },
} as const satisfies Area;
