import type { Area } from './area.js';

export const COMMANDS = {
  title: 'Operator commands',
  intro:
    'A refused command request (POST /api/commands, select, operate) is answered with the status shown, and its code is also ' +
    "the code of the command's outcome in the event list. Codes without a status are outcomes only: a poller reports them " +
    "(GET /api/commands/:id, the live stream); a command that meets a Modbus error fails with that error's code.",
  codes: {
    PLANTA_COMMAND_BAD_BODY: { status: 400, meaning: 'The request body is not a JSON object.' },
    PLANTA_COMMAND_UNKNOWN: { status: 404, meaning: 'No command of that name in the configuration.' },
    PLANTA_COMMAND_UNKNOWN_FIELD: { status: 400, meaning: 'The request has a field a command request does not take; the message lists those it does.' },
    PLANTA_COMMAND_BAD_ID: { status: 400, meaning: 'The command id is not 8 to 64 letters, digits, "-" or "_" (a fresh one per click).' },
    PLANTA_COMMAND_FORBIDDEN: { status: 403, meaning: 'Your role may not run this command; the message names the role it needs.' },
    PLANTA_COMMAND_BAD_TYPE: { status: 400, meaning: 'A value has the wrong type (true or false, a number, a whole number, an object of parameters).' },
    PLANTA_COMMAND_OUT_OF_RANGE: { status: 400, meaning: 'A value is outside the range the configuration allows for it.' },
    PLANTA_COMMAND_UNKNOWN_PARAM: { status: 400, meaning: 'The command has no parameter of that name.' },
    PLANTA_COMMAND_MISSING_PARAM: { status: 400, meaning: 'A parameter the command needs is missing.' },
    PLANTA_COMMAND_PRECONDITION: { status: 409, meaning: 'A precondition of the command (requires) is false on the live values; the field names it.' },
    PLANTA_COMMAND_RELATION: { status: 409, meaning: 'The values would break a relation between values (relations), e.g. a minimum above its maximum; the field names it.' },
    PLANTA_COMMAND_STATE_UNKNOWN: { status: 409, meaning: 'A value a precondition or relation needs is not known or not Good, so the command cannot be checked and is refused.' },
    PLANTA_COMMAND_SELECT_REQUIRED: { status: 409, meaning: 'The command is critical: select it first, then operate with the token.' },
    PLANTA_COMMAND_DEVICE_SELECTED: { status: 409, meaning: 'Another user has the device selected for a command until the time given.' },
    PLANTA_COMMAND_SELECT_LIMIT: { status: 409, meaning: 'You have held the device selected as long as one may at a stretch: it is left to others for a while.' },
    PLANTA_COMMAND_BAD_TOKEN: { status: [400, 409], meaning: 'The select token is not a token at all (400), or unknown, already used or cancelled (409): select again.' },
    PLANTA_COMMAND_TOKEN_EXPIRED: { status: 409, meaning: 'The selection expired before the operate: select again.' },
    PLANTA_COMMAND_TOKEN_USER: { status: 403, meaning: 'The select token belongs to another user.' },
    PLANTA_COMMAND_TOKEN_MISMATCH: { status: 409, meaning: 'The select token was given for another command or other values: select again.' },
    PLANTA_COMMAND_DUPLICATE: { status: 409, meaning: 'You used this command id before: a command never runs twice; the answer carries what became of it.' },
    PLANTA_COMMAND_ID_TAKEN: { status: 409, meaning: "The id belongs to another user's command: make a fresh id for each command." },
    PLANTA_COMMAND_NOT_QUEUED: { status: 503, meaning: 'The bus is out of reach (or the command reached it too late): it was not queued and never runs later; send it again once the bus is back.' },
    PLANTA_COMMAND_UNCONFIRMED: { status: 503, meaning: 'The bus did not confirm the command in time: it runs only if the bus took it before its deadline; look at the event list before sending it again.' },
    PLANTA_COMMAND_RECORDS_UNAVAILABLE: { status: 503, meaning: 'The command records (PostgreSQL) do not answer; they are kept in memory until it does.' },
    PLANTA_COMMAND_NOT_FOUND: { status: 404, meaning: 'No command with this id (or it is older than the records keep).' },
    PLANTA_COMMAND_NO_OUTCOME: { meaning: 'No outcome was ever reported for the command (the bus or its poller lost it): check the plant.' },
    PLANTA_COMMAND_EXPIRED: { meaning: "Not sent: the command's time ran out before it could be written (no connection to the device, or it waited too long)." },
    PLANTA_COMMAND_NOT_OWNER: { meaning: "Not sent by this poller: it no longer holds the device's lease; the poller that does takes it." },
    PLANTA_COMMAND_NOT_SENT: { meaning: 'Not sent: the bus did not note in time that writing began (connection lost).' },
    PLANTA_COMMAND_NOT_ACCEPTED: { meaning: 'Written, but the PLC did not take it: the value read back, or the expected result, did not follow.' },
    PLANTA_COMMAND_INTERRUPTED: { meaning: 'Planta stopped while the command was being executed; it is not sent again: check the plant.' },
    PLANTA_COMMAND_UNKNOWN_TAG: { meaning: "The poller has no tag the command writes (its configuration differs from the web's)." },
    PLANTA_COMMAND_ERROR: { meaning: 'The command failed for a reason without a code of its own; the reason says what.' },
  },
} as const satisfies Area;
