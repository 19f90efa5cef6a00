/** The bus's errors, each with a stable code (see DESIGN.md: an error catalogue). */
export class BusError extends Error {
  constructor(
    readonly code:
      | 'PLANTA_BUS_UNREACHABLE'
      | 'PLANTA_BUS_CONNECTION'
      | 'PLANTA_BUS_BAD_MESSAGE'
      | 'PLANTA_BUS_NO_DEVICES'
      | 'PLANTA_BUS_CLOSED'
      | 'PLANTA_BUS_CONFIG'
      | 'PLANTA_BUS_NO_ANSWER'
      | 'PLANTA_BUS_OUTBOX_BUSY'
      /** A command was not handed to the bus (it was out of reach): it was not queued and never will be. */
      | 'PLANTA_BUS_NOT_QUEUED'
      /** A command was sent to the bus, which did not confirm it in time: it may have been queued (then it runs), never later than its acceptBy. */
      | 'PLANTA_BUS_UNCONFIRMED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BusError';
  }
}
