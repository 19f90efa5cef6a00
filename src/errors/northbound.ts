import type { Area } from './area.js';

export const NORTHBOUND = {
  title: 'Northbound (MQTT Sparkplug B, OPC UA)',
  intro: 'Said by the Sparkplug B edge node and the OPC UA server (`planta start`, `planta northbound`), in their logs and in the audit trail of a refused write.',
  codes: {
    PLANTA_NORTHBOUND_WRITE_REFUSED: {
      status: 403,
      meaning: 'A write from MQTT (NCMD/DCMD) or OPC UA to a metric or node that northbound.*.commands does not map to a command: refused and audited, nothing is written.',
    },
    PLANTA_NORTHBOUND_CREDENTIALS: { meaning: "The broker's credentials (env:PREFIX or file:PATH) name nothing readable." },
    PLANTA_NORTHBOUND_NOT_CONFIGURED: { meaning: 'The configuration has no northbound.sparkplug or northbound.opcua section: there is nothing to run.' },
  },
} as const satisfies Area;
