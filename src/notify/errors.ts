/** Notification errors, each with a stable code (DESIGN.md: an error catalogue). */
export type NotifyErrorCode =
  /** env:NAME or file:PATH of a channel names nothing readable. */
  | 'PLANTA_NOTIFY_SECRET_MISSING'
  /** `planta notify test` or a request named a channel the configuration does not have. */
  | 'PLANTA_NOTIFY_UNKNOWN_CHANNEL'
  /** The mail server or the webhook did not take the message (it is retried). */
  | 'PLANTA_NOTIFY_SEND_FAILED'
  /** The receiver refused the message itself (an HTTP 4xx, an SMTP 5xx): retrying the same message cannot help. */
  | 'PLANTA_NOTIFY_REJECTED'
  /** The notifications page was asked of a process where no notifier runs. */
  | 'PLANTA_NOTIFY_UNAVAILABLE';

export class NotifyError extends Error {
  constructor(
    readonly code: NotifyErrorCode,
    message: string,
    readonly statusCode = 500,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'NotifyError';
  }
}
