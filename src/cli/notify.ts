/** `planta notify test CHANNEL`: sends a test message through a channel of the configuration, now, and says what happened. */
import type { Command } from 'commander';
import { Notifier } from '../notify/notifier.js';
import { NotifyOutbox } from '../notify/outbox.js';
import { noticeTexts } from '../notify/texts.js';
import { DEFAULT_CONFIG, loadPlant } from './wiring.js';

async function test(channel: string, flags: { config: string }): Promise<void> {
  const config = loadPlant(flags.config);
  // Straight to the channel: the running Planta's outbox is left alone.
  const outbox = new NotifyOutbox(':memory:', 1 << 20);
  const notifier = new Notifier({ config: config.notifications, plant: config.plant.name, texts: noticeTexts(config), ...(config.plant.timezone ? { timeZone: config.plant.timezone } : {}), outbox });
  try {
    const r = await notifier.test(channel);
    console.log(`planta notify: sent "${r.subject}" through ${channel} (${r.target})`);
  } catch (err) {
    const e = err as Error & { code?: string };
    console.error(`planta notify: ${channel}: ${e.message}${e.code ? ` [${e.code}]` : ''}`);
    process.exitCode = 1;
  } finally {
    await notifier.stop();
    outbox.close();
  }
}

export function registerNotifyCommands(program: Command): void {
  const notify = program.command('notify').description('alarm notifications (the notifications: section of the configuration)');
  notify
    .command('test')
    .description('send a test message through a channel now (mail credentials and webhook secrets from the environment or their files)')
    .argument('<channel>', 'a channel of notifications.channels')
    .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG)
    .action((channel: string, flags: { config: string }) => test(channel, flags));
}
