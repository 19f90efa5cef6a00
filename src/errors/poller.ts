import type { Area } from './area.js';

export const POLLER = {
  title: 'Pollers and device status',
  intro: "A device's status (GET /api/devices, the live stream, the HMI's banner) and the pollers' logs carry these.",
  codes: {
    PLANTA_POLLER_SILENT: { meaning: "No report came from the device's poller for longer than its lease and a grace: its values are shown as last usable." },
    PLANTA_POLLER_STOPPED: { meaning: 'The poller gave the device up (it stopped) with no standby poller waiting: nothing reads it now.' },
    PLANTA_POLLER_UNKNOWN_DEVICE: { meaning: '`planta poll` was asked for a device the configuration does not have.' },
    PLANTA_POLLER_UNIT_SILENT: { meaning: 'A request on a shared link was not sent: its unit stopped answering and is backed off (one probe per doubling pause) so its siblings keep their scan rate.' },
    PLANTA_POLLER_SPLIT_LINK: { meaning: '`planta poll` was asked for some devices of a link (a serial line, a converter, a gateway) but not all: one process must own the line.' },
    PLANTA_ERROR: { meaning: 'A read failed with an error without a code of its own; the message says what.' },
  },
} as const satisfies Area;
