/** pino loggers: JSON to stdout, pretty when a terminal is attached, quiet under tests unless asked. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(name: string, level = process.env.PLANTA_LOG_LEVEL ?? 'info'): Logger {
  const pretty = process.stdout.isTTY && process.env.PLANTA_LOG_FORMAT !== 'json';
  return pino({
    name,
    level,
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
  });
}
