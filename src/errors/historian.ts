import type { Area } from './area.js';

export const HISTORIAN = {
  title: 'Historian and trends',
  intro: 'Answered by the web server to trend, export and cycle queries; the PLANTA_HISTORIAN_* codes without an answer of their own also stop `planta historian` or `planta start`.',
  codes: {
    PLANTA_HISTORY_BAD_QUERY: { status: 400, meaning: 'The tags (1 to 16) or points (1 to 10000) of a trend query are not valid, or a parameter is given more than once.' },
    PLANTA_HISTORY_BAD_RANGE: { status: 400, meaning: 'A time is not epoch milliseconds or ISO 8601, or from is not before to.' },
    PLANTA_TAG_UNKNOWN: { status: 404, meaning: 'A trend asks for a tag the configuration does not have.' },
    PLANTA_CYCLES_NOT_CONFIGURED: { status: 404, meaning: 'No cycle report: the configuration has no historian.cycles section.' },
    PLANTA_DB_FAILOVER: { meaning: "A PostgreSQL URL of several hosts: the writable server changed (a standby was promoted), the historian's, users' or command records' new connections go to it (met in the logs)." },
    PLANTA_HISTORIAN_UNAVAILABLE: { status: 503, meaning: 'No historian in this process, or its store (the file, or PostgreSQL) does not answer yet: try again shortly.' },
    PLANTA_HISTORIAN_NO_FILE: { status: 404, meaning: 'There is no history file at the path given.' },
    PLANTA_HISTORIAN_READ_ONLY: { status: 500, meaning: 'A history store opened read-only was written to: a bug.' },
    PLANTA_HISTORIAN_BAD_URL: { status: 500, meaning: 'PLANTA_HISTORIAN_URL is neither postgres://USER@HOST:PORT/DATABASE nor sqlite.' },
    PLANTA_HISTORIAN_BAD_SCHEMA: { status: 500, meaning: "The historian's PostgreSQL schema name is not lower-case letters, digits and _." },
    PLANTA_REPLAY_BAD_TIME: { status: 400, meaning: 'A replay moment (at, from, to) is missing, not epoch milliseconds or ISO 8601, in the future, or from is after to.' },
    PLANTA_REPLAY_BAD_SPEED: { status: 400, meaning: 'A replay speed other than 1, 10 or 60.' },
    PLANTA_REPLAY_BAD_QUERY: { status: 400, meaning: 'A replay query parameter (limit: 1 to 5000) is not valid, or is given more than once.' },
    PLANTA_HISTORIAN_NO_SHARED_BUS: { meaning: '`planta historian` on its own needs the Redis bus: on the in-memory bus it would record nothing.' },
  },
} as const satisfies Area;
