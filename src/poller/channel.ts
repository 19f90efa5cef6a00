/**
 * A device's way to its Modbus device: a connection of its own, or its
 * share of a link (link-scheduler.ts) that carries several devices. The
 * device poller and the command executor see only this.
 */
import { type ClientState, type ClientStats, ExceptionCode, type ModbusClient, type ModbusError, ModbusExceptionError, type ModbusRequest, type ModbusResponse } from '../modbus/index.js';

/**
 * A gateway's exception 0A (no path to the device) or 0B (the device did not
 * answer): the device behind it is silent — the answer proves the gateway
 * alive, not the device.
 */
export function gatewaySilence(err: unknown): boolean {
  return err instanceof ModbusExceptionError && (err.exceptionCode === ExceptionCode.GatewayPathUnavailable || err.exceptionCode === ExceptionCode.GatewayTargetFailedToRespond);
}

/** The scan group of operator commands' requests: they go before any scan's. */
export const COMMAND_GROUP = '!command';

export interface DeviceChannel {
  /** Sends a request of a scan group (or of a command, COMMAND_GROUP); resolves with the reply. */
  request(req: ModbusRequest, group?: string): Promise<ModbusResponse>;
  /** This device's request figures; the connection's (connects, reconnects, connectedSince) are the link's. */
  readonly stats: ClientStats;
  /** The connection's state (the link's, for a device on a link). */
  readonly state: ClientState;
  readonly connected: boolean;
  /** Called with the round trip of every reply of this device, ms. */
  onLatency(listener: (ms: number) => void): void;
  onDisconnect(listener: (err: ModbusError) => void): void;
  onState(listener: (state: ClientState) => void): void;
  close(): Promise<void>;
}

/** A device with a connection of its own. */
export function ownChannel(client: ModbusClient): DeviceChannel {
  return {
    request: (req) => client.request(req),
    get stats() {
      return client.stats;
    },
    get state() {
      return client.state;
    },
    get connected() {
      return client.connected;
    },
    onLatency: (listener) => void (client.latencyListener = listener),
    onDisconnect: (listener) => void client.on('disconnect', listener),
    onState: (listener) => void client.on('state', listener),
    close: () => client.close(),
  };
}
