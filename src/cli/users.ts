/**
 * `planta user …`, `planta token …`, `planta audit …`: users and their roles,
 * read-only API tokens, and the audit trail, straight on the database (the
 * SQLite file, or the PostgreSQL database shared by web nodes).
 * There is no default password: the first admin is created here.
 * Stored text is printed with its control characters escaped: a name or
 * detail cannot move the terminal's cursor.
 */
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { AuditKeyError, escapeControls, parseAuditHead } from '../auth/audit.js';
import { WeakPasswordError, checkStrength, hashPassword } from '../auth/passwords.js';
import type { UserDirectory } from '../auth/directory.js';
import { openDirectory, usersDb } from '../auth/open.js';
import { ROLES, type Role } from '../config/schema.js';
import { CliUsageError, describeError } from './modbus.js';

const NAME = /^[A-Za-z][A-Za-z0-9_.-]{1,31}$/;

/** Reads a line without echo from a terminal, or a line from standard input (scripts). */
async function readSecret(prompt: string, fromStdin: boolean): Promise<string> {
  if (fromStdin || !process.stdin.isTTY) {
    const rl = createInterface({ input: process.stdin });
    for await (const line of rl) {
      rl.close();
      return line;
    }
    throw new CliUsageError('no password on standard input');
  }
  process.stdout.write(prompt);
  return new Promise((resolve) => {
    let text = '';
    process.stdin.setRawMode(true);
    process.stdin.resume();
    const onData = (buf: Buffer): void => {
      for (const ch of buf.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          process.stdin.off('data', onData);
          process.stdin.setRawMode(false);
          process.stdin.pause();
          process.stdout.write('\n');
          resolve(text);
          return;
        }
        if (ch === '\u0003') process.exit(130);
        if (ch === '\u007f') text = text.slice(0, -1);
        else text += ch;
      }
    };
    process.stdin.on('data', onData);
  });
}

async function newPassword(name: string, fromStdin: boolean): Promise<string> {
  const password = await readSecret(`Password for ${name}: `, fromStdin);
  try {
    checkStrength(password, name);
  } catch (err) {
    if (err instanceof WeakPasswordError) throw new CliUsageError(err.message);
    throw err;
  }
  if (!fromStdin && process.stdin.isTTY && (await readSecret('Again: ', false)) !== password) throw new CliUsageError('the two passwords differ');
  return password;
}

/**
 * Runs `f` on the directory named by --db. With `appends` (the command
 * writes to the audit trail), the trail's key is checked first — made on
 * first run, and said so.
 */
function withStore(f: (store: UserDirectory, ...args: string[]) => Promise<void>, appends = true) {
  return async (...args: unknown[]): Promise<void> => {
    const cmd = args[args.length - 1] as Command;
    const { directory } = openDirectory(cmd.optsWithGlobals<{ db: string }>().db);
    try {
      if (appends) {
        const { key, created } = await directory.prepareAuditKey();
        if (created) console.error(`planta: made the audit trail's key ${key.file}: back it up, and copy it to every web node using this database`);
      }
      await f(directory, ...(args.slice(0, -2) as string[]));
    } catch (err) {
      console.error(`planta: ${err instanceof AuditKeyError ? `${err.message} [${err.code}]` : describeError(err)}`);
      process.exitCode = err instanceof CliUsageError ? 2 : 1;
    } finally {
      await directory.close();
    }
  };
}

function role(text: string): Role {
  if (!ROLES.includes(text as Role)) throw new CliUsageError(`role "${text}" is not one of ${ROLES.join(', ')}`);
  return text as Role;
}

export function registerUserCommands(program: Command): void {
  const db = (c: Command): Command =>
    c.option('--db <file|url>', 'the database of `planta start` or `planta web`: an SQLite file, or postgres://USER@HOST:PORT/DATABASE[?schema=NAME] shared by web nodes; default PLANTA_USERS_DB or data/planta.db', usersDb());
  const user = db(program.command('user').description('users and roles (viewer, operator, engineer, admin)'));

  user
    .command('add')
    .argument('<name>')
    .requiredOption('--role <role>', ROLES.join(' | '))
    .option('--password-stdin', 'read the password from standard input (scripts)')
    .description('add a user; prompts for the password (no default passwords)')
    .action(
      withStore(async (store, name) => {
        const opts = user.commands.find((c) => c.name() === 'add')!.opts<{ role: string; passwordStdin?: boolean }>();
        if (!NAME.test(name!)) throw new CliUsageError('a user name is 2..32 letters, digits, ".", "_" or "-", starting with a letter');
        const r = role(opts.role);
        if (await store.user(name!)) throw new CliUsageError(`user ${name} exists`);
        const hash = await hashPassword(await newPassword(name!, Boolean(opts.passwordStdin)));
        await store.addUser(name!, r, hash);
        await store.audit('cli', 'user-add', name!, { role: r });
        console.log(`user ${name} added with role ${r}`);
      }),
    );

  user
    .command('list')
    .description('list users')
    .action(
      withStore(async (store) => {
        for (const u of await store.users()) console.log(`${escapeControls(u.name).padEnd(20)} ${escapeControls(u.role).padEnd(9)} ${u.disabled ? 'disabled' : 'active'}  since ${new Date(u.createdAt).toISOString()}`);
      }, false),
    );

  user
    .command('passwd')
    .argument('<name>')
    .option('--password-stdin', 'read the password from standard input')
    .description("set a user's password (ends their sessions)")
    .action(
      withStore(async (store, name) => {
        if (!(await store.user(name!))) throw new CliUsageError(`no user ${name}`);
        const opts = user.commands.find((c) => c.name() === 'passwd')!.opts<{ passwordStdin?: boolean }>();
        await store.setPassword(name!, await hashPassword(await newPassword(name!, Boolean(opts.passwordStdin))));
        await store.audit('cli', 'user-password', name!, null);
        console.log(`password of ${name} changed`);
      }),
    );

  user
    .command('role')
    .argument('<name>')
    .argument('<role>')
    .description("change a user's role (ends their sessions)")
    .action(
      withStore(async (store, name, r) => {
        if (!(await store.user(name!))) throw new CliUsageError(`no user ${name}`);
        await store.setRole(name!, role(r!));
        await store.audit('cli', 'user-role', name!, { role: r });
        console.log(`${name} is now ${r}`);
      }),
    );

  for (const [verb, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    user
      .command(verb)
      .argument('<name>')
      .description(`${verb} a user`)
      .action(
        withStore(async (store, name) => {
          if (!(await store.user(name!))) throw new CliUsageError(`no user ${name}`);
          await store.setDisabled(name!, disabled);
          await store.audit('cli', `user-${verb}`, name!, null);
          console.log(`${name} ${verb}d`);
        }),
      );
  }

  const token = db(program.command('token').description('read-only API tokens for machine clients'));
  token
    .command('add')
    .argument('<name>')
    .description('create a read-only token (shown once)')
    .action(
      withStore(async (store, name) => {
        if (!NAME.test(name!)) throw new CliUsageError('a token name is 2..32 letters, digits, ".", "_" or "-", starting with a letter');
        if ((await store.tokens()).some((t) => t.name === name)) throw new CliUsageError(`token ${name} exists`);
        const secret = await store.addToken(name!, 'cli');
        await store.audit('cli', 'token-add', name!, null);
        console.log(`${secret}\n(read-only; send it as "Authorization: Bearer <token>"; it is not shown again)`);
      }),
    );
  token
    .command('list')
    .description('list tokens')
    .action(
      withStore(async (store) => {
        for (const t of await store.tokens()) console.log(`${escapeControls(t.name).padEnd(20)} ${t.revokedAt ? `revoked ${new Date(t.revokedAt).toISOString()}` : 'active'}`);
      }, false),
    );
  token
    .command('revoke')
    .argument('<name>')
    .description('revoke a token')
    .action(
      withStore(async (store, name) => {
        if (!(await store.revokeToken(name!))) throw new CliUsageError(`no active token ${name}`);
        await store.audit('cli', 'token-revoke', name!, null);
        console.log(`token ${name} revoked`);
      }),
    );

  const audit = db(program.command('audit').description('the keyed, hash-chained audit trail'));
  audit
    .command('verify')
    .option('--head <[seq:]hash>', 'a head kept elsewhere (logged by planta web, printed here): fails unless it is still an entry of the chain')
    .description('check that no audit entry was edited or removed (and, with --head, that none was cut off the end)')
    .action(
      withStore(async (store) => {
        const text = audit.commands.find((c) => c.name() === 'verify')!.opts<{ head?: string }>().head;
        const head = text === undefined ? undefined : parseAuditHead(text);
        if (text !== undefined && !head) throw new CliUsageError(`--head "${escapeControls(text)}": expected the 64 hex digits of an entry's hash, or SEQ:HASH`);
        const r = await store.verifyAudit(head);
        if (!r.ok) {
          console.error(`audit trail BROKEN at entry ${r.seq}: ${r.why}`);
          process.exitCode = 1;
          return;
        }
        const [last] = await store.auditEntries({ limit: 1 });
        console.log(`audit trail intact: ${r.entries} entries${last ? `; head ${last.seq}:${last.hash}` : ''}${head ? `; the head given (${head.seq ?? '?'}:${head.hash.slice(0, 12)}…) is in the chain` : ''}`);
        console.log('(keep the head somewhere else: `planta audit verify --head SEQ:HASH` later proves that nothing up to it was cut off or rewritten)');
      }, false),
    );
  audit
    .command('list')
    .option('--limit <n>', 'entries', '50')
    .description('the newest entries')
    .action(
      withStore(async (store) => {
        const limit = Number(audit.commands.find((c) => c.name() === 'list')!.opts<{ limit: string }>().limit);
        for (const e of (await store.auditEntries({ limit })).reverse()) {
          console.log(`${new Date(e.ts).toISOString()}  ${escapeControls(e.actor).padEnd(12)} ${escapeControls(e.action).padEnd(22)} ${escapeControls(e.target)}  ${escapeControls(e.detail)}`);
        }
      }, false),
    );
}
