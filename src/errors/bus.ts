import type { Area } from './area.js';

export const BUS = {
  title: 'The bus',
  intro:
    "Met in the logs and on the command line; PLANTA_BUS_UNREACHABLE is also a device's status when this process cannot hear Redis. " +
    'An alarm action that meets a bus error on its way to `planta alarms` is answered 503 with its code.',
  codes: {
    PLANTA_BUS_UNREACHABLE: { meaning: 'Redis did not answer in time: at start, or while devices fell silent (this process cannot hear the plant; its poller may be fine).' },
    PLANTA_BUS_CONNECTION: { meaning: 'The connection to Redis was lost, or a call to it failed until its deadline; it reconnects by itself.' },
    PLANTA_BUS_CLOSED: { meaning: 'The bus was used after it was closed (the process is stopping).' },
    PLANTA_BUS_BAD_MESSAGE: { meaning: 'A message on the bus could not be read and was dropped: a process of another version, or a foreign writer.' },
    PLANTA_BUS_NO_DEVICES: { meaning: 'A process subscribed to samples or commands on Redis without naming its devices: a bug.' },
    PLANTA_BUS_NO_ANSWER: { meaning: 'No process answered a request on the bus in time: is the process that serves it running?' },
    PLANTA_BUS_OUTBOX_BUSY: { meaning: 'Another process on this machine uses the same outbox file.' },
    PLANTA_BUS_OUTBOX_FULL: { meaning: 'The outbox that keeps samples while Redis is away reached its size: its oldest samples were dropped.' },
    PLANTA_BUS_NOT_QUEUED: { meaning: 'A command was not handed to the bus (it was out of reach): it was not queued and never will be.' },
    PLANTA_BUS_BAD_URL: { meaning: 'The bus URL is neither redis://HOST:PORT (rediss://) nor redis-sentinel://HOST:PORT,HOST:PORT,…/MASTER_NAME (rediss-sentinel://).' },
    PLANTA_BUS_FAILOVER: { meaning: 'The Redis Sentinels named another master (a failover): the connection moved to it and the live state is read again (met in the logs).' },
    PLANTA_BUS_UNCONFIRMED: { meaning: 'A command was sent to the bus, which did not confirm it in time: it may have been queued (then it runs), never later than its deadline.' },
    PLANTA_SERVICE_FAILED: { status: 500, meaning: 'A request between processes failed with an error without a code of its own; the log of the process that served it has it.' },
  },
} as const satisfies Area;
