import type { Area } from './area.js';

export const WEB = {
  title: 'HTTP: the web server and the /metrics port',
  intro:
    'Answered by `planta web` (and `planta start`) as `{"error": {"code", "message", "field"?}}` with the status shown; ' +
    'PLANTA_HTTP_NOT_FOUND and PLANTA_METRICS_FAILED also by the /metrics port of `planta poll`, `planta alarms` and `planta historian`.',
  codes: {
    PLANTA_HTTP_BAD_PATH: { status: 400, meaning: 'The request path is not in its plain form (an empty or dot segment, a needless or broken percent-encoding): send it as written.' },
    PLANTA_HTTP_BAD_REQUEST: { status: 400, meaning: 'The HTTP layer refused the request (e.g. a body that is not JSON); its status is the 4xx it chose, 400 unless it said otherwise.' },
    PLANTA_HTTP_TIMEOUT: { status: 408, meaning: 'The request was not sent in time (security.limits.headersTimeout for its headers, requestTimeout for all of it): the connection is closed.' },
    PLANTA_HTTP_NOT_FOUND: { status: 404, meaning: 'No route answers this method and path.' },
    PLANTA_HTTP_ACCESS_UNDECLARED: { status: 403, meaning: 'The route declares no access, so nobody may use it: a bug, named in the log at start.' },
    PLANTA_HTTP_INTERNAL: { status: 500, meaning: "Something failed inside the server; its log has the detail, the answer does not." },
    PLANTA_LIMIT_BODY: { status: 413, meaning: "The request body is larger than the route takes (security.limits.bodyBytes, or the route's own bound)." },
    PLANTA_LIMIT_CONNECTIONS: { status: 503, meaning: 'The server has as many connections open as security.limits.connections allows: try again shortly.' },
    PLANTA_LIMIT_CONNECTIONS_PER_CLIENT: { status: 429, meaning: 'Your address has as many connections open as one client may (security.limits.connectionsPerIp): close some.' },
    PLANTA_LIMIT_STREAMS: { status: 503, meaning: 'The server has as many live streams as security.limits.streams allows: try again shortly.' },
    PLANTA_LIMIT_STREAMS_PER_CLIENT: { status: 429, meaning: 'Your address has as many live streams open as one client may (security.limits.streamsPerIp): close some tabs.' },
    PLANTA_TEXT_TOO_LONG: { status: 400, meaning: 'A text field (comment, reason, search) is longer than it takes; the field is named.' },
    PLANTA_TEXT_UNPRINTABLE: { status: 400, meaning: 'A text field holds a control, escape or direction-changing character; the field is named.' },
    PLANTA_TAG_NOT_FOUND: { status: 404, meaning: 'No tag of that name in the configuration.' },
    PLANTA_DRAWING_NOT_FOUND: { status: 404, meaning: 'The HMI page has no drawing.' },
    PLANTA_SSE_FRAMING: { meaning: 'An event id or name with CR, LF or NUL was refused before it could split the live stream: a bug.' },
    PLANTA_METRICS_FAILED: { status: 500, meaning: 'The process could not collect its figures for /metrics; try again, then look at its log.' },
  },
} as const satisfies Area;
