/** The clients Planta uses: Modbus/TCP, and RTU on a serial line or through an RTU-over-TCP converter. */
import { type ClientOptions, type CommonClientOptions } from './client-options.js';
import { ModbusClient } from './client.js';
import { ModbusRequestError } from './errors.js';
import { MBAP, RTU } from './packager.js';
import { RTU_OVER_TCP_GAP_MS } from './rtu.js';
import { SerialTransport, type SerialTransportOptions } from './serial-transport.js';
import { TcpTransport } from './tcp-transport.js';

/** A Modbus/TCP client (MBAP frames on a TCP connection). */
export class ModbusTcpClient extends ModbusClient<ClientOptions & { port: number }> {
  constructor(options: ClientOptions) {
    super(new TcpTransport(options.host, options.port ?? 502), MBAP, { ...options, port: options.port ?? 502 });
  }
}

export interface RtuClientOptions extends CommonClientOptions {
  /** A serial line (RS-485, RS-232)... */
  serial?: SerialTransportOptions;
  /** ...or an RTU-over-TCP converter: RTU frames in a TCP stream. */
  host?: string;
  /** Default 502. */
  port?: number;
}

/**
 * A Modbus RTU client: on a serial line, or through an RTU-over-TCP
 * converter. One request at a time (RTU frames carry no transaction id);
 * unit 0 is a broadcast (writes only, no answer).
 */
export class ModbusRtuClient extends ModbusClient<RtuClientOptions> {
  constructor(options: RtuClientOptions) {
    const { serial, host } = options;
    if ((serial === undefined) === (host === undefined)) throw new ModbusRequestError('an RTU client needs a serial line or a host (RTU over TCP), not both');
    const transport = serial ? new SerialTransport(serial) : new TcpTransport(host!, options.port ?? 502, RTU_OVER_TCP_GAP_MS);
    // A serial port is not a connection that a reopen could revive: timeouts are the devices' own.
    super(transport, RTU, { ...options, timeoutsBeforeReconnect: options.timeoutsBeforeReconnect ?? (serial ? 0 : 2) });
  }
}

