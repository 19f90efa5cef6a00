/**
 * The rules between the `northbound:` section and the commands: a mapped
 * write names a configured, non-critical command, fills its only parameter
 * (or none), and is made with a role allowed to run it.
 */
import { roleAllows } from './commands.js';
import type { NorthboundCommandConfig, NorthboundConfig } from './northbound-schema.js';
import type { CommandConfig, RuleProblem } from './schema.js';

function checkMapping(m: NorthboundCommandConfig, commands: Record<string, CommandConfig>, path: (string | number)[], problems: RuleProblem[]): void {
  const c = Object.hasOwn(commands, m.command) ? commands[m.command] : undefined;
  if (!c) {
    problems.push({ path: [...path, 'command'], message: `unknown command "${m.command}" (commands: ${Object.keys(commands).join(', ') || 'none'})` });
    return;
  }
  // Select-before-operate needs a person at the HMI who sees the state before confirming: a single write cannot give that.
  if (c.critical) problems.push({ path: [...path, 'command'], message: `"${m.command}" is critical (select before operate, at the HMI): it cannot be mapped to a northbound write` });
  const params = Object.keys(c.params);
  if (m.param === undefined && params.length > 0) problems.push({ path: [...path, 'param'], message: `"${m.command}" has parameters (${params.join(', ')}): name the one the written value fills` });
  if (m.param !== undefined && !params.includes(m.param)) problems.push({ path: [...path, 'param'], message: `"${m.command}" has no parameter "${m.param}" (parameters: ${params.join(', ') || 'none'})` });
  if (m.param !== undefined && params.length > 1) problems.push({ path: [...path, 'param'], message: `"${m.command}" has ${params.length} parameters: a single written value can fill only one` });
  if (!roleAllows(m.role, c.role)) problems.push({ path: [...path, 'role'], message: `${m.role} may not run "${m.command}": it needs ${c.role}` });
}

export function checkNorthbound(nb: NorthboundConfig, commands: Record<string, CommandConfig>, tags: ReadonlySet<string>, problems: RuleProblem[]): void {
  for (const [name, m] of Object.entries(nb.sparkplug?.commands ?? {})) checkMapping(m, commands, ['northbound', 'sparkplug', 'commands', name], problems);
  for (const [name, m] of Object.entries(nb.opcua?.commands ?? {})) {
    // An OPC UA node is a tag's variable: a name that is no tag would map nothing.
    if (!tags.has(name)) problems.push({ path: ['northbound', 'opcua', 'commands', name], message: `no tag "${name}": OPC UA writes are mapped by tag name` });
    checkMapping(m, commands, ['northbound', 'opcua', 'commands', name], problems);
  }
}
