/** `planta check FILE`: validate a configuration and print every problem with its place. */
import type { Command } from 'commander';
import { ConfigError, formatProblem, loadConfig } from '../config/load.js';
import { deviceAddress } from '../config/links.js';
import { planReads } from '../poller/plan.js';

export function registerCheckCommand(program: Command): void {
  program
    .command('check')
    .description('validate a configuration file and show what it would poll')
    .argument('<config>', 'YAML configuration file')
    .action((file: string) => {
      try {
        const config = loadConfig(file);
        console.log(`${file}: valid — ${config.devices.length} device(s)${config.links.length > 0 ? ` on ${config.links.length} link(s) and their own` : ''}, ${config.tags.length} tag(s)`);
        for (const d of config.devices) {
          const where = deviceAddress(d, config.links);
          const tags = config.tags.filter((t) => t.device === d.name);
          for (const [group, period] of Object.entries(d.scanGroups)) {
            const blocks = planReads(tags.filter((t) => t.scanGroup === group), d);
            const what = blocks.map((b) => `${b.area} ${b.address}..${b.address + b.quantity - 1}`).join(', ');
            console.log(`  ${d.name} (${where}) ${group} every ${period} ms: ${blocks.length} request(s)${what ? ` — ${what}` : ''}`);
          }
        }
        const n = config.notifications;
        const channels = Object.keys(n.channels);
        const sp = config.northbound.sparkplug;
        if (sp) console.log(`  northbound: Sparkplug B edge node ${sp.group}/${sp.node ?? '(plant name)'} on ${sp.broker}, ${Object.keys(sp.commands).length} writable metric(s)`);
        const ua = config.northbound.opcua;
        if (ua) console.log(`  northbound: OPC UA server on ${ua.host}:${ua.port} (${ua.securityModes.join(', ')}${ua.anonymous ? ', anonymous reading' : ''}), ${Object.keys(ua.commands).length} writable node(s)`);
        if (channels.length) console.log(`  notifications: ${channels.length} channel(s) (${channels.join(', ')}), ${n.rules.length} rule(s); \`planta notify test CHANNEL\` sends a test message`);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        for (const p of err.problems) console.error(formatProblem(p));
        console.error(`${err.problems.length} problem${err.problems.length === 1 ? '' : 's'} [${err.code}]`);
        process.exitCode = 1;
      }
    });
}
