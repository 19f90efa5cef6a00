/** All the device pollers of a configuration (or of the devices this process owns). */
import type { Bus } from '../bus/types.js';
import type { PlantConfig } from '../config/resolve.js';
import type { TagDefinition } from '../tags/types.js';
import type { Logger } from '../util/log.js';
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
}

export class Poller {
  readonly devices: DevicePoller[];

  constructor(config: PlantConfig, options: PollerOptions) {
    const names = new Set(config.devices.map((d) => d.name));
    for (const d of options.devices ?? []) {
      if (!names.has(d)) throw new UnknownDeviceError(`no device "${d}" in the configuration (devices: ${[...names].join(', ')})`);
    }
    const owned = config.devices.filter((d) => !options.devices || options.devices.includes(d.name));
    const tagsOf = new Map(owned.map((d) => [d.name, [] as TagDefinition[]]));
    for (const t of config.tags) tagsOf.get(t.device)?.push(t);
    this.devices = owned.map(
      (d) =>
        new DevicePoller(d, tagsOf.get(d.name)!, {
          bus: options.bus,
          ...(options.log ? { log: options.log } : {}),
          ...(options.statusIntervalMs ? { statusIntervalMs: options.statusIntervalMs } : {}),
        }),
    );
  }

  async start(): Promise<void> {
    await Promise.all(this.devices.map((d) => d.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.devices.map((d) => d.stop()));
  }
}
