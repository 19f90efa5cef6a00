import type { Area } from './area.js';

export const ALARMS = {
  title: 'Alarms and the journal',
  intro: 'Answered by the web server to alarm actions and journal queries, whether the alarm engine runs in the web process or in `planta alarms`.',
  codes: {
    PLANTA_ALARM_UNKNOWN: { status: 404, meaning: 'No alarm of that id.' },
    PLANTA_ALARM_FORBIDDEN: { status: 403, meaning: 'Your role may not do this to an alarm; the message names the role it needs.' },
    PLANTA_ALARM_SHELVE_FORBIDDEN: { status: 403, meaning: 'Your role may not shelve an alarm of this priority (shelving in the configuration).' },
    PLANTA_ALARM_SHELVE_TOO_LONG: { status: 400, meaning: 'An alarm of this priority may not be shelved that long — counted from when it was first shelved, when it is shelved again before it came back.' },
    PLANTA_ALARM_BAD_DURATION: { status: 400, meaning: 'A shelve lasts between 1 minute and 24 hours: a shelved alarm always comes back by itself.' },
    PLANTA_ALARM_REASON_REQUIRED: { status: 400, meaning: 'Shelving an alarm or taking it out of service needs a reason.' },
    PLANTA_ALARM_BAD_COMMENT: { status: 400, meaning: 'An acknowledgement comment has at most 500 characters.' },
    PLANTA_ALARM_BAD_BODY: { status: 400, meaning: 'The request body is not what the action takes; the message says what is wrong.' },
    PLANTA_ALARM_BAD_ID: { status: 400, meaning: 'An alarm id is a name: letters, digits, "_", "." or "-", at most 128.' },
    PLANTA_ALARM_BAD_REQUEST: { status: 400, meaning: 'The alarm process was asked for an action it does not know (a web node of another version?).' },
    PLANTA_ALARMS_UNAVAILABLE: { status: 503, meaning: 'The alarm engine does not run in this process, or its process (planta alarms) does not answer on the bus.' },
    PLANTA_JOURNAL_BAD_QUERY: { status: 400, meaning: 'A parameter of the journal query is not valid or is given more than once; the message names it.' },
  },
} as const satisfies Area;
