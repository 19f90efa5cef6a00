import type { Area } from './area.js';

export const SIM = {
  title: 'Simulator',
  intro: "Answered by the simulator's control port (`planta sim`), or written to its log (the connection codes).",
  codes: {
    PLANTA_SIM_NOT_FOUND: { status: 404, meaning: 'No control route answers this method and path.' },
    PLANTA_SIM_BAD_REQUEST: { status: 400, meaning: 'The body is not JSON, has no "mode" string, or names a unit outside 1..247.' },
    PLANTA_SIM_BAD_MODE: { status: 400, meaning: 'Not a misbehaviour: normal, slow:MS, silent, close, hangup, exception:CODE, garbage or noise, with its number in range.' },
    PLANTA_SIM_BODY_TOO_LARGE: { status: 413, meaning: 'The body is over 64 KiB.' },
    PLANTA_SIM_UNKNOWN_FAULT: { status: 404, meaning: 'Not a fault of the plant; the message lists them.' },
    PLANTA_SIM_UNKNOWN_UNIT: { status: 404, meaning: 'The simulator serves no plant at that unit id; the message lists the units it serves.' },
    PLANTA_SIM_NO_PLANT: { status: 409, meaning: 'The load device has no faults: only the SBR plant has.' },
    PLANTA_SIM_INTERNAL: { status: 500, meaning: 'Something failed inside the simulator; the message says what.' },
    PLANTA_SIM_CONNECTION_EVICTED: { meaning: 'A Modbus connection was closed for a newcomer: the connection limit was reached and it was idle longest.' },
    PLANTA_SIM_CONNECTION_IDLE: { meaning: 'A Modbus connection was closed: it sent no complete request for too long.' },
    PLANTA_SIM_CONNECTION_FRAME_TIMEOUT: { meaning: 'A Modbus connection was closed: it left a frame half-sent for too long.' },
  },
} as const satisfies Area;
