import { type ErrorCode, PlantaError } from '../errors.js';

/** The bus's errors (src/errors/bus.ts says what each code means). */
export class BusError extends PlantaError<Extract<ErrorCode, `PLANTA_BUS_${string}`>> {
  constructor(code: Extract<ErrorCode, `PLANTA_BUS_${string}`>, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'BusError';
  }
}
