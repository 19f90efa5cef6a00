import { type ErrorCode, PlantaError } from '../errors.js';

/** An error of the notifier; its codes and statuses are in the catalogue (src/errors/notify.ts). */
export class NotifyError extends PlantaError<Extract<ErrorCode, `PLANTA_NOTIFY_${string}`>> {
  override readonly name = 'NotifyError';
}
