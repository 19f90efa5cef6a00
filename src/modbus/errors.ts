/**
 * The Modbus stack's error catalogue. Every error has a stable `code` that logs,
 * metrics and the API use; exceptions from a device also carry the Modbus
 * exception code they were answered with.
 */

export abstract class ModbusError extends Error {
  abstract readonly code: string;
}

/** A request that breaks the spec (quantity over a limit, address overflow, bad value); never sent. */
export class ModbusRequestError extends ModbusError {
  readonly code = 'PLANTA_MODBUS_INVALID_REQUEST';
}

/** No reply within the request timeout. */
export class ModbusTimeoutError extends ModbusError {
  readonly code = 'PLANTA_MODBUS_TIMEOUT';
  constructor(readonly timeoutMs: number, what = 'request') {
    super(`no reply to ${what} within ${timeoutMs} ms`);
  }
}

/** The TCP connection could not be made, was refused, dropped, or is not up yet. */
export class ModbusConnectionError extends ModbusError {
  readonly code = 'PLANTA_MODBUS_CONNECTION';
}

/** The client was closed by its owner; pending and new requests fail with this. */
export class ModbusClientClosedError extends ModbusError {
  readonly code = 'PLANTA_MODBUS_CLIENT_CLOSED';
  constructor() {
    super('the Modbus client is closed');
  }
}

/** A reply that does not fit its request (function code, unit id, length, byte count). */
export class ModbusProtocolError extends ModbusError {
  readonly code = 'PLANTA_MODBUS_BAD_RESPONSE';
}

/** Too many requests waiting for a connection or a free slot in the window. */
export class ModbusQueueFullError extends ModbusError {
  readonly code = 'PLANTA_MODBUS_QUEUE_FULL';
}

export const ExceptionCode = {
  IllegalFunction: 0x01,
  IllegalDataAddress: 0x02,
  IllegalDataValue: 0x03,
  ServerDeviceFailure: 0x04,
  Acknowledge: 0x05,
  ServerDeviceBusy: 0x06,
  MemoryParityError: 0x08,
  GatewayPathUnavailable: 0x0a,
  GatewayTargetFailedToRespond: 0x0b,
} as const;

const exceptionText: Record<number, string> = {
  0x01: 'illegal function',
  0x02: 'illegal data address',
  0x03: 'illegal data value',
  0x04: 'server device failure',
  0x05: 'acknowledge (long operation in progress)',
  0x06: 'server device busy',
  0x08: 'memory parity error',
  0x0a: 'gateway path unavailable',
  0x0b: 'gateway target device failed to respond',
};

export function describeException(exceptionCode: number): string {
  return exceptionText[exceptionCode] ?? `unknown exception 0x${hex2(exceptionCode)}`;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0').toUpperCase();
}

/** A Modbus exception response: the device understood the request and refused it. */
export class ModbusExceptionError extends ModbusError {
  readonly code: string = 'PLANTA_MODBUS_EXCEPTION';
  constructor(
    readonly exceptionCode: number,
    readonly functionCode = 0,
  ) {
    super(
      `exception 0x${hex2(exceptionCode)} (${describeException(exceptionCode)})` +
        (functionCode ? ` to function ${functionCode}` : ''),
    );
  }
}

export class IllegalFunctionError extends ModbusExceptionError {
  override readonly code = 'PLANTA_MODBUS_ILLEGAL_FUNCTION';
  constructor(functionCode = 0) {
    super(ExceptionCode.IllegalFunction, functionCode);
  }
}
export class IllegalDataAddressError extends ModbusExceptionError {
  override readonly code = 'PLANTA_MODBUS_ILLEGAL_DATA_ADDRESS';
  constructor(functionCode = 0) {
    super(ExceptionCode.IllegalDataAddress, functionCode);
  }
}
export class IllegalDataValueError extends ModbusExceptionError {
  override readonly code = 'PLANTA_MODBUS_ILLEGAL_DATA_VALUE';
  constructor(functionCode = 0) {
    super(ExceptionCode.IllegalDataValue, functionCode);
  }
}
export class ServerDeviceFailureError extends ModbusExceptionError {
  override readonly code = 'PLANTA_MODBUS_DEVICE_FAILURE';
  constructor(functionCode = 0) {
    super(ExceptionCode.ServerDeviceFailure, functionCode);
  }
}
export class ServerDeviceBusyError extends ModbusExceptionError {
  override readonly code = 'PLANTA_MODBUS_DEVICE_BUSY';
  constructor(functionCode = 0) {
    super(ExceptionCode.ServerDeviceBusy, functionCode);
  }
}
export class GatewayPathUnavailableError extends ModbusExceptionError {
  override readonly code = 'PLANTA_MODBUS_GATEWAY_PATH_UNAVAILABLE';
  constructor(functionCode = 0) {
    super(ExceptionCode.GatewayPathUnavailable, functionCode);
  }
}
export class GatewayTargetFailedError extends ModbusExceptionError {
  override readonly code = 'PLANTA_MODBUS_GATEWAY_TARGET_FAILED';
  constructor(functionCode = 0) {
    super(ExceptionCode.GatewayTargetFailedToRespond, functionCode);
  }
}

const exceptionClasses: Record<number, new (functionCode: number) => ModbusExceptionError> = {
  0x01: IllegalFunctionError,
  0x02: IllegalDataAddressError,
  0x03: IllegalDataValueError,
  0x04: ServerDeviceFailureError,
  0x06: ServerDeviceBusyError,
  0x0a: GatewayPathUnavailableError,
  0x0b: GatewayTargetFailedError,
};

/** The error class for an exception code received from a device. */
export function exceptionError(exceptionCode: number, functionCode = 0): ModbusExceptionError {
  const Class = exceptionClasses[exceptionCode];
  return Class ? new Class(functionCode) : new ModbusExceptionError(exceptionCode, functionCode);
}
