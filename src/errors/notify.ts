import type { Area } from './area.js';

export const NOTIFY = {
  title: 'Notifications',
  intro: 'Said by the notifier (mail and webhooks), `planta notify test`, and the Notifications page and its routes.',
  codes: {
    PLANTA_NOTIFY_SECRET_MISSING: { meaning: "A channel's env:NAME or file:PATH names nothing readable, or does not hold what the channel needs (a URL for a webhook)." },
    PLANTA_NOTIFY_UNKNOWN_CHANNEL: { status: 404, meaning: 'No channel of that name in the configuration.' },
    PLANTA_NOTIFY_SEND_FAILED: { status: 502, meaning: 'The mail server or the webhook did not take the message; it is retried with a growing pause.' },
    PLANTA_NOTIFY_REJECTED: { status: 502, meaning: 'The receiver refused the message itself (HTTP 4xx, SMTP 5xx): retrying it cannot help; it is logged as refused.' },
    PLANTA_NOTIFY_UNAVAILABLE: { status: 503, meaning: 'No notifier runs for this web server (no notifications: section, or the alarm process does not answer on the bus).' },
    PLANTA_NOTIFY_BAD_QUERY: { status: 400, meaning: 'A parameter of the notifications log query is not valid or is given more than once; the message names it.' },
    PLANTA_NOTIFY_BAD_BODY: { status: 400, meaning: 'The test request names no channel, or not as a name.' },
    PLANTA_NOTIFY_BAD_REQUEST: { status: 400, meaning: 'The alarm process was asked for a notifications request it does not know (a web node of another version?).' },
  },
} as const satisfies Area;
