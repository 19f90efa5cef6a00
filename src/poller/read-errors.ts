/** What a failed read means: for its tags' quality, and for whether the device is there. */
import { ExceptionCode, ModbusExceptionError, ModbusProtocolError, ModbusTimeoutError } from '../modbus/index.js';
import type { Quality } from '../tags/quality.js';

/**
 * A gateway's exception 0A (no path to the device) or 0B (the device did not
 * answer): the device behind it is silent — the answer proves the gateway
 * alive, not the device.
 */
export function gatewaySilence(err: unknown): boolean {
  return err instanceof ModbusExceptionError && (err.exceptionCode === ExceptionCode.GatewayPathUnavailable || err.exceptionCode === ExceptionCode.GatewayTargetFailedToRespond);
}

/** The quality a failed read gives its tags. */
export function qualityOfError(err: unknown): { quality: Quality; exceptionCode?: number } {
  if (err instanceof ModbusTimeoutError) return { quality: 'Bad_Timeout' };
  if (gatewaySilence(err)) return { quality: 'Bad_NoCommunication', exceptionCode: (err as ModbusExceptionError).exceptionCode };
  if (err instanceof ModbusExceptionError) {
    // 01/02 on a read mean the configuration names what the device does not have.
    const config = err.exceptionCode === 1 || err.exceptionCode === 2;
    return { quality: config ? 'Bad_ConfigurationError' : 'Bad_DeviceFailure', exceptionCode: err.exceptionCode };
  }
  if (err instanceof ModbusProtocolError) return { quality: 'Bad_CommunicationError' };
  return { quality: 'Bad_NoCommunication' };
}
