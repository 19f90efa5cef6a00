/** All the device pollers of a configuration (or of the devices this process owns). */
import type { Bus, Unsubscribe } from '../bus/types.js';
import type { PlantConfig } from '../config/resolve.js';
import type { TagDefinition } from '../tags/types.js';
import type { Logger } from '../util/log.js';
import type { Registry } from 'prom-client';
import type { ExecutorOptions } from './command-executor.js';
import { registerPollerMetrics } from './metrics.js';
import { DevicePoller } from './device-poller.js';

export class UnknownDeviceError extends Error {
  readonly code = 'PLANTA_POLLER_UNKNOWN_DEVICE';
}

export interface PollerOptions {
  bus: Bus;
  log?: Logger;
  /** Poll only these devices (default: all). */
  devices?: string[];
  statusIntervalMs?: number;
  commands?: ExecutorOptions;
  /** Prometheus registry to report into. */
  registry?: Registry;
}

export class Poller {
  readonly devices: DevicePoller[];
  private unsubscribe: Unsubscribe | undefined;

  private readonly bus: Bus;

  constructor(config: PlantConfig, options: PollerOptions) {
    this.bus = options.bus;
    const names = new Set(config.devices.map((d) => d.name));
    for (const d of options.devices ?? []) {
      if (!names.has(d)) throw new UnknownDeviceError(`no device "${d}" in the configuration (devices: ${[...names].join(', ')})`);
    }
    const owned = config.devices.filter((d) => !options.devices || options.devices.includes(d.name));
    const tagsOf = new Map(owned.map((d) => [d.name, [] as TagDefinition[]]));
    const observers = options.registry ? registerPollerMetrics(options.registry, () => this.devices) : undefined;
    for (const t of config.tags) tagsOf.get(t.device)?.push(t);
    this.devices = owned.map(
      (d) =>
        new DevicePoller(d, tagsOf.get(d.name)!, {
          bus: options.bus,
          ...(options.log ? { log: options.log } : {}),
          ...(options.statusIntervalMs ? { statusIntervalMs: options.statusIntervalMs } : {}),
          ...(options.commands ? { commands: options.commands } : {}),
          ...(observers ? { observers } : {}),
        }),
    );
  }

  async start(): Promise<void> {
    await Promise.all(this.devices.map((d) => d.start()));
    const byName = new Map(this.devices.map((d) => [d.device.name, d]));
    // Commands for devices this poller does not own are another poller's.
    this.unsubscribe = await this.bus.subscribeCommands((cmd) => void byName.get(cmd.device)?.execute(cmd));
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
    await Promise.all(this.devices.map((d) => d.stop()));
  }
}
