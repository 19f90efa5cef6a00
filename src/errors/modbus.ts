import type { Area } from './area.js';

/** The codes of src/modbus/errors.ts (the Modbus stack imports nothing else, this catalogue included). */
export const MODBUS = {
  title: 'Modbus',
  intro:
    "A device's last error (GET /api/devices), the poller's log and `planta modbus` show these; a command that meets one fails with it. " +
    'The exception codes are the Modbus exception the device answered with.',
  codes: {
    PLANTA_MODBUS_TIMEOUT: { meaning: 'No reply within the request timeout.' },
    PLANTA_MODBUS_CONNECTION: { meaning: 'The connection to the device could not be made, was refused or dropped.' },
    PLANTA_MODBUS_CLIENT_CLOSED: { meaning: 'The Modbus client was closed (its poller is stopping); its requests fail.' },
    PLANTA_MODBUS_BAD_RESPONSE: { meaning: 'A reply that does not fit its request (function code, unit id, length or byte count).' },
    PLANTA_MODBUS_QUEUE_FULL: { meaning: 'Too many requests wait for the connection to the device.' },
    PLANTA_MODBUS_INVALID_REQUEST: { meaning: 'A request that breaks the Modbus specification (a quantity over its limit, an address past 65535): never sent.' },
    PLANTA_MODBUS_EXCEPTION: { meaning: 'The device answered with a Modbus exception that has no code of its own here; the message gives its number.' },
    PLANTA_MODBUS_ILLEGAL_FUNCTION: { meaning: 'Exception 01: the device does not support this function.' },
    PLANTA_MODBUS_ILLEGAL_DATA_ADDRESS: { meaning: "Exception 02: the address is not in the device's map: check the tag's address." },
    PLANTA_MODBUS_ILLEGAL_DATA_VALUE: { meaning: 'Exception 03: the device refused a quantity or a value.' },
    PLANTA_MODBUS_DEVICE_FAILURE: { meaning: 'Exception 04: the device failed while executing the request.' },
    PLANTA_MODBUS_DEVICE_BUSY: { meaning: 'Exception 06: the device is busy; the next scan asks again.' },
    PLANTA_MODBUS_GATEWAY_PATH_UNAVAILABLE: { meaning: 'Exception 0A: the gateway has no path to the unit id.' },
    PLANTA_MODBUS_GATEWAY_TARGET_FAILED: { meaning: 'Exception 0B: the device behind the gateway did not answer.' },
  },
} as const satisfies Area;
