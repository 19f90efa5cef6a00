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
      | 'PLANTA_BUS_OUTBOX_BUSY',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BusError';
  }
}
