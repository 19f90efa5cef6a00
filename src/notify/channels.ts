/**
 * The channels: mail through an SMTP server (nodemailer; STARTTLS required
 * unless tls: none) and webhooks (HTTP POST of JSON, optionally signed with
 * HMAC-SHA256). A channel sends one rendered notification or throws a
 * NotifyError: PLANTA_NOTIFY_REJECTED when the receiver refused the message
 * itself, PLANTA_NOTIFY_SEND_FAILED when it could not be reached (retried).
 */
import { createHmac } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { ChannelConfig } from '../config/schema.js';
import { NotifyError } from './errors.js';
import { type Rendered, webhookBody } from './notice.js';
import { readCredentials, readSecret } from './secrets.js';

export interface Channel {
  readonly name: string;
  readonly kind: 'mail' | 'webhook';
  /** Where it sends, for people: the mail server and recipients, or the webhook's host (never a secret). */
  readonly target: string;
  /** Who is on call: the channel's onCall, or a mail channel's recipients. */
  readonly onCall?: string;
  send(r: Rendered): Promise<void>;
  close(): void;
}

export const SIGNATURE_HEADER = 'x-planta-signature';

/** The signature header's value for a body: sha256=HEX of HMAC-SHA256 under the key. */
export function signature(body: string, key: string): string {
  return `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
}

const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;
const SMTP_TIMEOUT_MS = 30_000;

export interface ChannelOptions {
  env?: NodeJS.ProcessEnv;
  /** Trust these CA certificates too (tests: the SMTP sink's own). */
  ca?: string;
}

/** A channel of the configuration. A secret it cannot read makes every send fail with that reason (the notifications wait). */
export function createChannel(name: string, c: ChannelConfig, o: ChannelOptions = {}): Channel {
  // A mail without onCall: says who is on call, its recipients.
  const who = c.onCall ?? (c.smtp !== undefined ? c.to?.join(', ') : undefined);
  const onCall = who !== undefined ? { onCall: who } : {};
  try {
    return c.smtp !== undefined ? mailChannel(name, c, o, onCall) : webhookChannel(name, c, o, onCall);
  } catch (err) {
    const reason = err as NotifyError;
    return {
      name,
      kind: c.smtp !== undefined ? 'mail' : 'webhook',
      target: c.smtp ?? 'webhook',
      ...onCall,
      send: async () => {
        throw reason;
      },
      close: () => undefined,
    };
  }
}

function mailChannel(name: string, c: ChannelConfig, o: ChannelOptions, onCall: { onCall?: string }): Channel {
  const url = new URL(c.smtp!);
  const secure = url.protocol === 'smtps:';
  const port = url.port ? Number(url.port) : secure ? 465 : 587;
  const plain = c.tls === 'none';
  const auth = c.credentials ? readCredentials(c.credentials, `channel ${name}: credentials`, o.env) : undefined;
  const transport = nodemailer.createTransport({
    // One connection kept open and reused (one at a time: the channel's order is the mails' order).
    pool: true,
    maxConnections: 1,
    host: url.hostname,
    port,
    secure,
    // STARTTLS is required (a server that does not offer it fails the sending) unless the channel says tls: none.
    requireTLS: !secure && !plain,
    ignoreTLS: plain,
    ...(auth ? { auth } : {}),
    ...(o.ca ? { tls: { ca: o.ca } } : {}),
    connectionTimeout: SMTP_TIMEOUT_MS,
    greetingTimeout: SMTP_TIMEOUT_MS,
    socketTimeout: SMTP_TIMEOUT_MS,
  });
  return {
    name,
    kind: 'mail',
    target: `${url.protocol}//${url.hostname}:${port} → ${c.to!.join(', ')}`,
    ...onCall,
    async send(r) {
      try {
        await transport.sendMail({ from: c.from!, to: c.to!, subject: r.subject, text: r.text, headers: { 'X-Planta-Kind': String(r.json.kind) } });
      } catch (err) {
        const e = err as { responseCode?: number; message: string };
        // A 5xx answer refuses the message (recipient, sender, content); anything else may pass later.
        const refused = typeof e.responseCode === 'number' && e.responseCode >= 500;
        throw new NotifyError(refused ? 'PLANTA_NOTIFY_REJECTED' : 'PLANTA_NOTIFY_SEND_FAILED', `mail to ${url.hostname}:${port}: ${e.message}`, { cause: err });
      }
    },
    close: () => transport.close(),
  };
}

function webhookChannel(name: string, c: ChannelConfig, o: ChannelOptions, onCall: { onCall?: string }): Channel {
  const url = readSecret(c.webhook!, `channel ${name}: webhook`, o.env);
  if (!/^https?:\/\/\S+$/.test(url)) throw new NotifyError('PLANTA_NOTIFY_SECRET_MISSING', `channel ${name}: ${c.webhook} does not hold an http(s):// URL`);
  const key = c.secret ? readSecret(c.secret, `channel ${name}: secret`, o.env) : undefined;
  const format = c.format ?? 'json';
  const host = new URL(url).host;
  return {
    name,
    kind: 'webhook',
    target: `${format} webhook at ${host}`,
    ...onCall,
    async send(r) {
      const body = JSON.stringify(webhookBody(r, format));
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(key ? { [SIGNATURE_HEADER]: signature(body, key) } : {}) },
          body,
          signal: AbortSignal.timeout(c.timeout ?? DEFAULT_WEBHOOK_TIMEOUT_MS),
        });
      } catch (err) {
        throw new NotifyError('PLANTA_NOTIFY_SEND_FAILED', `webhook at ${host}: ${(err as Error).message}`, { cause: err });
      }
      await res.body?.cancel();
      if (res.ok) return;
      // 408 and 429 (and 5xx) say "later"; any other 4xx refuses this message.
      const refused = res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429;
      throw new NotifyError(refused ? 'PLANTA_NOTIFY_REJECTED' : 'PLANTA_NOTIFY_SEND_FAILED', `webhook at ${host}: HTTP ${res.status}`);
    },
    close: () => undefined,
  };
}
