/**
 * Every rule of .dependency-cruiser.cjs can fail. A rule that cannot fail is not a
 * rule, so each one is run over a tiny tree of modules written for the purpose: one
 * module per "never" of the design breaks it, a few imports that the design allows
 * sit beside them, and the checker must report exactly the breaking imports, each
 * under the rule that forbids it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { after, before, test } from 'node:test';
import { type ICruiseOptions, type ICruiseResult, type IForbiddenRuleType, cruise } from 'dependency-cruiser';

const config = createRequire(import.meta.url)('../../.dependency-cruiser.cjs') as {
  forbidden: IForbiddenRuleType[];
  options: ICruiseOptions;
};

/** An import from one module of the fixture tree to another (or to nowhere). */
interface Edge {
  from: string;
  to: string;
}
interface Breach extends Edge {
  rule: string;
}

/** Each "never" of DESIGN.md's layout, one import each; `to` is a module the tree provides. */
const breaches: Breach[] = [
  // modbus ← tags ← poller; modbus imports nothing else from src/.
  { rule: 'modbus-is-self-contained', from: 'src/modbus/imports-tags.ts', to: 'src/tags/target.ts' },
  { rule: 'lower-layers-do-not-import-upper', from: 'src/tags/imports-poller.ts', to: 'src/poller/target.ts' },
  { rule: 'tags-below-config', from: 'src/tags/imports-config.ts', to: 'src/config/target.ts' },
  // The condition language is shared with the browser: it imports nothing.
  { rule: 'condition-language-is-pure', from: 'src/tags/condition-language.ts', to: 'src/tags/target.ts' },
  // bus is used by everything above it, never the other way.
  { rule: 'lower-layers-do-not-import-upper', from: 'src/bus/imports-alarms.ts', to: 'src/alarms/target.ts' },
  { rule: 'lower-layers-do-not-import-upper', from: 'src/bus/imports-notify.ts', to: 'src/notify/target.ts' },
  { rule: 'lower-layers-do-not-import-upper', from: 'src/bus/imports-northbound.ts', to: 'src/northbound/target.ts' },
  { rule: 'lower-layers-do-not-import-upper', from: 'src/config/imports-web.ts', to: 'src/web/target.ts' },
  // web and hmi never import modbus or poller.
  { rule: 'web-never-touches-the-wire', from: 'src/web/imports-modbus.ts', to: 'src/modbus/target.ts' },
  { rule: 'web-never-touches-the-wire', from: 'src/web/imports-poller.ts', to: 'src/poller/target.ts' },
  { rule: 'web-never-touches-the-wire', from: 'hmi/src/imports-modbus.ts', to: 'src/modbus/target.ts' },
  { rule: 'web-never-touches-the-wire', from: 'hmi/src/imports-poller.ts', to: 'src/poller/target.ts' },
  // alarms, historian, notify and northbound never import modbus.
  { rule: 'consumers-never-touch-the-wire', from: 'src/alarms/imports-modbus.ts', to: 'src/modbus/target.ts' },
  { rule: 'consumers-never-touch-the-wire', from: 'src/historian/imports-modbus.ts', to: 'src/modbus/target.ts' },
  { rule: 'consumers-never-touch-the-wire', from: 'src/notify/imports-modbus.ts', to: 'src/modbus/target.ts' },
  { rule: 'consumers-never-touch-the-wire', from: 'src/northbound/imports-modbus.ts', to: 'src/modbus/target.ts' },
  // notify never touches a PLC; northbound writes only through operator commands.
  { rule: 'notify-and-northbound-never-reach-a-plc', from: 'src/notify/imports-poller.ts', to: 'src/poller/target.ts' },
  { rule: 'notify-and-northbound-never-reach-a-plc', from: 'src/northbound/imports-poller.ts', to: 'src/poller/target.ts' },
  // sim never imports poller.
  { rule: 'sim-is-not-a-poller', from: 'src/sim/imports-poller.ts', to: 'src/poller/target.ts' },
  { rule: 'notify-reads-the-bus-only', from: 'src/notify/imports-alarms.ts', to: 'src/alarms/target.ts' },
  { rule: 'notify-reads-the-bus-only', from: 'src/notify/imports-web.ts', to: 'src/web/target.ts' },
  { rule: 'northbound-reads-the-bus-only', from: 'src/northbound/imports-web.ts', to: 'src/web/target.ts' },
  { rule: 'northbound-reads-the-bus-only', from: 'src/northbound/imports-sim.ts', to: 'src/sim/target.ts' },

  { rule: 'bus-roles-apart', from: 'src/bus/redis/commands.ts', to: 'src/bus/redis/leases.ts' },
  { rule: 'bus-implementations-apart', from: 'src/bus/memory/values.ts', to: 'src/bus/redis/connection.ts' },
  // The project's own: util stays generic, only the CLI wires the CLI, no cycles, nothing unresolvable.
  { rule: 'util-is-self-contained', from: 'src/util/imports-bus.ts', to: 'src/bus/target.ts' },
  { rule: 'only-cli-imports-cli', from: 'src/web/imports-cli.ts', to: 'src/cli/target.ts' },
  { rule: 'no-circular', from: 'src/commands/cycle-a.ts', to: 'src/commands/cycle-b.ts' },
  { rule: 'not-to-unresolvable', from: 'src/web/imports-nowhere.ts', to: './nowhere.js' },
];

/** Imports the design allows; none of them may be reported (a rule must not fire on the permitted). */
const allowed: Edge[] = [
  { from: 'src/tags/imports-modbus.ts', to: 'src/modbus/target.ts' },
  { from: 'src/config/imports-modbus.ts', to: 'src/modbus/target.ts' },
  { from: 'src/poller/imports-modbus.ts', to: 'src/modbus/target.ts' },
  { from: 'src/poller/imports-bus.ts', to: 'src/bus/target.ts' },
  { from: 'src/sim/imports-modbus.ts', to: 'src/modbus/target.ts' },
  { from: 'src/alarms/imports-bus.ts', to: 'src/bus/target.ts' },
  { from: 'src/bus/redis/alarms.ts', to: 'src/bus/redis/streams.ts' },
  { from: 'src/bus/memory/leases.ts', to: 'src/bus/memory/deliveries.ts' },
  { from: 'src/notify/imports-bus.ts', to: 'src/bus/target.ts' },
  { from: 'src/northbound/imports-commands.ts', to: 'src/commands/target.ts' },
  { from: 'src/web/imports-historian.ts', to: 'src/historian/target.ts' },
  { from: 'hmi/src/imports-web.ts', to: 'src/web/target.ts' },
  { from: 'src/cli/imports-poller.ts', to: 'src/poller/target.ts' },
  { from: 'src/cli/imports-cli.ts', to: 'src/cli/target.ts' },
  // Allowed alone, it closes the cycle above; the checker reports a cycle once, at the import it enters by.
  { from: 'src/commands/cycle-b.ts', to: 'src/commands/cycle-a.ts' },
];

let root = '';
let reported: Breach[] = [];

/** Writes the tree: each `from` imports its `to`; each `to` inside the tree is a leaf module. */
function writeTree(dir: string, edges: Edge[]): void {
  const write = (file: string, text: string): void => {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  };
  for (const { to } of edges) if (to.startsWith('src/')) write(to, 'export const x = 1;\n');
  for (const { from, to } of edges) {
    const spec = to.startsWith('src/') ? posix.relative(posix.dirname(from), to).replace(/\.ts$/, '.js') : to;
    write(from, `import { x } from '${spec.startsWith('.') ? spec : `./${spec}`}';\nexport const y = x;\n`);
  }
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'planta-dependency-rules-'));
  writeTree(root, [...breaches, ...allowed]);
  // The project's options, except its tsconfig (the fixture tree has none; imports are plain relative paths).
  const { tsConfig: _tsConfig, ...options } = config.options;
  const result = await cruise(['src', 'hmi/src'], { ...options, baseDir: root, validate: true, ruleSet: { forbidden: config.forbidden } });
  const output = result.output as ICruiseResult;
  reported = output.summary.violations.map((v) => ({ rule: v.rule.name, from: v.from, to: v.to }));
});

after(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

const key = (b: Breach): string => `${b.rule}: ${b.from} → ${b.to}`;

test('every rule of the dependency checker has a breach that proves it fires', () => {
  const proven = new Set(breaches.map((b) => b.rule));
  const unproven = config.forbidden.map((r) => r.name ?? '(unnamed)').filter((name) => !proven.has(name));
  assert.deepEqual(unproven, [], 'add a breaching import to this test for each new rule');
});

for (const breach of breaches) {
  test(`reported: ${key(breach)}`, () => {
    assert.ok(
      reported.some((r) => key(r) === key(breach)),
      `not reported; the checker said:\n${reported.map(key).join('\n')}`,
    );
  });
}

test('nothing else is reported: the imports the design allows pass', () => {
  const expected = new Set(breaches.map(key));
  assert.deepEqual(reported.map(key).filter((k) => !expected.has(k)), []);
});
