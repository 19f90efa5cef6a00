/** Real receivers for the notifier's tests: an SMTP sink (smtp-server, mails parsed by mailparser) and a webhook server checking signatures. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { SIGNATURE_HEADER, signature } from '../../src/notify/channels.js';

export interface SmtpSink {
  port: number;
  mails: ParsedMail[];
  /** Who authenticated, by mail. */
  users: string[];
  /** Whether each mail came over TLS (STARTTLS). */
  secure: boolean[];
  close(): Promise<void>;
}

/**
 * An SMTP sink on 127.0.0.1 (port 0: any free one): plain SMTP, or offering STARTTLS with `tls`'s certificate;
 * `auth` demands that user and password.
 */
export async function smtpSink(o: { port?: number; auth?: { user: string; pass: string }; tls?: { key: string; cert: string } } = {}): Promise<SmtpSink> {
  const mails: ParsedMail[] = [];
  const users: string[] = [];
  const secure: boolean[] = [];
  const server = new SMTPServer({
    disabledCommands: [...(o.tls ? [] : ['STARTTLS']), ...(o.auth ? [] : ['AUTH'])],
    ...(o.tls ? { key: o.tls.key, cert: o.tls.cert } : {}),
    authOptional: !o.auth,
    allowInsecureAuth: true,
    logger: false,
    // A client's pooled connection left open does not hold up the sink's close.
    closeTimeout: 100,
    onAuth(auth, _session, cb) {
      if (o.auth && auth.username === o.auth.user && auth.password === o.auth.pass) {
        users.push(auth.username!);
        cb(null, { user: auth.username });
      } else cb(new Error('invalid credentials'));
    },
    onData(stream, session, cb) {
      simpleParser(stream)
        .then((m) => {
          mails.push(m);
          secure.push(session.secure);
          cb();
        })
        .catch(cb);
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = ((server as unknown as { server: Server }).server.address() as AddressInfo).port;
  return { port, mails, users, secure, close: () => new Promise((r) => server.close(() => r())) };
}

export interface WebhookSink {
  url: string;
  bodies: { body: unknown; signed: boolean | undefined }[];
  /** Answer this status instead of 204 while set. */
  status: number | undefined;
  close(): Promise<void>;
}

/** A webhook receiver; with `key`, `signed` says whether the body's signature header is right. */
export async function webhookSink(key?: string): Promise<WebhookSink> {
  const sink: WebhookSink = { url: '', bodies: [], status: undefined, close: async () => undefined };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      if (sink.status) {
        res.writeHead(sink.status).end();
        return;
      }
      sink.bodies.push({ body: JSON.parse(raw), signed: key === undefined ? undefined : req.headers[SIGNATURE_HEADER] === signature(raw, key) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  sink.close = () => new Promise((r) => server.close(() => r()));
  return sink;
}
