import type { Area } from './area.js';

export const AUTH = {
  title: 'Sign-in, users, API tokens and the audit trail',
  intro:
    'Answered by the web server; the PLANTA_AUDIT_KEY_* codes stop a web node or a `planta user|token|audit` command at start ' +
    "(see [the audit trail's key](security.md#the-audit-trails-key)), PLANTA_AUTH_STORE_* come from the users' database.",
  codes: {
    PLANTA_AUTH_REQUIRED: { status: 401, meaning: 'Sign in first (or send an API token, where a token may read).' },
    PLANTA_AUTH_FORBIDDEN: { status: 403, meaning: 'Your role, or an API token, may not do this; the message names the role it needs.' },
    PLANTA_AUTH_READ_ONLY: { status: 403, meaning: 'API tokens only read: a change needs a signed-in user.' },
    PLANTA_AUTH_CSRF: { status: 403, meaning: "The session's CSRF token (header x-csrf-token) is missing or wrong: reload the page." },
    PLANTA_AUTH_FAILED: { status: 401, meaning: 'Wrong user name or password (the answer does not say which).' },
    PLANTA_AUTH_LOCKED: { status: 429, meaning: 'Too many failed sign-ins for this account or from this address: try again after the time given (Retry-After).' },
    PLANTA_AUTH_BUSY: { status: 429, meaning: 'As many passwords are being checked as the server takes at once: try again in a second (Retry-After).' },
    PLANTA_AUTH_BAD_BODY: { status: 400, meaning: 'The request body is not a JSON object, has a field the request does not take, or a field of the wrong type; the message names it.' },
    PLANTA_AUTH_BAD_LOGIN: { status: 400, meaning: 'The user name (1 to 64 printable characters) or the password (at most 1024 bytes) of a sign-in is not valid.' },
    PLANTA_AUTH_REAUTH: { status: 403, meaning: 'This command needs your password again, and none or a wrong one was given.' },
    PLANTA_AUTH_WEAK_PASSWORD: { status: 400, meaning: 'The new password is too short, too common, contains the user name or has too few different characters.' },
    PLANTA_AUTH_BAD_NAME: { status: 400, meaning: 'A user or token name is 2 to 32 letters, digits, ".", "_" or "-", starting with a letter.' },
    PLANTA_AUTH_BAD_ROLE: { status: 400, meaning: 'Not a role: viewer, operator, engineer or admin.' },
    PLANTA_AUTH_USER_EXISTS: { status: 409, meaning: 'A user of that name exists.' },
    PLANTA_AUTH_NO_USER: { status: 404, meaning: 'No user of that name.' },
    PLANTA_AUTH_TOKEN_EXISTS: { status: 409, meaning: 'An API token of that name exists.' },
    PLANTA_AUTH_NO_TOKEN: { status: 404, meaning: 'No active API token of that name.' },
    PLANTA_AUDIT_BAD_QUERY: { status: 400, meaning: 'A parameter of the audit trail search is given more than once.' },
    PLANTA_AUTH_STORE_BAD_URL: { status: 500, meaning: "The users' database is not postgres://USER@HOST:PORT/DATABASE[?schema=NAME], or its schema name is not lower-case letters, digits and _." },
    PLANTA_AUTH_STORE_CONFLICT: { status: 409, meaning: "The users' database refused a duplicate (another web node made the same user or token at the same moment)." },
    PLANTA_AUTH_STORE_UNAVAILABLE: { status: 503, meaning: "The users' database (PostgreSQL) does not answer: try again shortly." },
    PLANTA_AUDIT_KEY_MISSING: { meaning: 'The audit trail is keyed but its key file is missing: restore it from a backup or copy it from a web node that has it.' },
    PLANTA_AUDIT_KEY_MISMATCH: { meaning: "The key file holds another key than the audit trail was chained with: copy the trail's key file here." },
    PLANTA_AUDIT_KEY_UNMARKED: { meaning: "The trail has entries and there is a key file, but no record of where keyed entries begin: it was tampered with (planta audit verify), or the key is another trail's." },
    PLANTA_AUDIT_KEY_PERMISSIONS: { meaning: 'The audit key file can be read by others than its owner: chmod 600 it.' },
    PLANTA_AUDIT_KEY_UNREADABLE: { meaning: 'The audit key file cannot be read or created, or does not hold a key (32 bytes in base64url on one line).' },
  },
} as const satisfies Area;
