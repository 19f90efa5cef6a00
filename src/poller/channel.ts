/**
 * A device's way to its Modbus device: a connection of its own, or its
 * share of a link (link-scheduler.ts) that carries several devices. The
 * device poller and the command executor see only this.
 */
import type { DeviceConfig } from '../config/resolve.js';
import {
  type ClientState,
  type ClientStats,
  type ModbusClient,
  type ModbusError,
  type ModbusRequest,
  type ModbusResponse,
  ModbusTcpClient,
} from '../modbus/index.js';

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

/** The Modbus/TCP connection of a device of its own (not on a link). */
export function connectionOf(device: DeviceConfig): ModbusTcpClient {
  return new ModbusTcpClient({
    host: device.host,
    port: device.port,
    unitId: device.unitId,
    timeout: device.timeoutMs,
    connectTimeout: device.connectTimeoutMs,
    window: device.window,
    // Two timeouts in a row mean the link is gone: every tag turns bad within 2× the timeout.
    timeoutsBeforeReconnect: 2,
  });
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
