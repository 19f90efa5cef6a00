/**
 * The architecture of DESIGN.md ("Dependencies point down this list…") as rules:
 * modbus ← tags ← poller; bus is used by everything above it; web and hmi never
 * import modbus or poller; alarms, historian, notify and northbound never import
 * modbus; sim never imports poller; the bus's roles are implemented apart; no cycles.
 * test/architecture/dependency-rules.test.ts proves that each rule here reports a crafted violation.
 */
const layer = (name) => `^src/${name}/`;
const layers = (...names) => names.map(layer);
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'modbus-is-self-contained',
      comment: 'src/modbus is protocol only and imports nothing else from src/.',
      severity: 'error',
      from: { path: layer('modbus') },
      to: { path: '^src/', pathNot: layer('modbus') },
    },
    {
      name: 'util-is-self-contained',
      comment: 'src/util holds small generic helpers and imports nothing else from src/.',
      severity: 'error',
      from: { path: layer('util') },
      to: { path: '^src/', pathNot: layer('util') },
    },
    {
      name: 'web-never-touches-the-wire',
      comment: 'Only the poller owns PLC connections; the web and the HMI never import modbus or poller.',
      severity: 'error',
      from: { path: [layer('web'), '^hmi/'] },
      to: { path: layers('modbus', 'poller', 'sim') },
    },
    {
      name: 'consumers-never-touch-the-wire',
      comment:
        'alarms, historian, notify and northbound work on values from the bus; they never speak Modbus.',
      severity: 'error',
      from: { path: layers('alarms', 'historian', 'notify', 'northbound') },
      to: { path: layer('modbus') },
    },
    {
      name: 'notify-and-northbound-never-reach-a-plc',
      comment: 'notify never touches a PLC and northbound writes only through configured operator commands, never past them to the poller.',
      severity: 'error',
      from: { path: layers('notify', 'northbound') },
      to: { path: layer('poller') },
    },
    {
      name: 'sim-is-not-a-poller',
      comment: 'The simulators are Modbus servers; they never import the poller (which would blur who owns a PLC connection).',
      severity: 'error',
      from: { path: layer('sim') },
      to: { path: layer('poller') },
    },
    {
      name: 'notify-reads-the-bus-only',
      comment: 'Notifications take alarm events from the bus: besides the rules above (no modbus, no poller), they never import the simulator, the web or the alarm engine.',
      severity: 'error',
      from: { path: layer('notify') },
      to: { path: layers('sim', 'web', 'alarms') },
    },
    {
      name: 'northbound-reads-the-bus-only',
      comment: 'The northbound takes values, device states and alarms from the bus, as the web does, and writes only through operator commands: besides the rules above (no modbus, no poller), it never imports the simulator, the web, the alarm engine or the notifier.',
      severity: 'error',
      from: { path: layer('northbound') },
      to: { path: layers('sim', 'web', 'alarms', 'notify') },
    },
    {
      name: 'lower-layers-do-not-import-upper',
      comment: 'config, tags and bus sit below everything that uses them: poller, alarms, notify, northbound, commands, historian, auth, web, sim and cli.',
      severity: 'error',
      from: { path: layers('config', 'tags', 'bus') },
      to: { path: layers('poller', 'alarms', 'notify', 'northbound', 'commands', 'historian', 'auth', 'web', 'sim', 'cli') },
    },
    {
      name: 'bus-roles-apart',
      comment:
        "Each role of the bus (values, samples, alarms, journal, commands, leases, rpc) is implemented in a file of its own in src/bus/memory/ and src/bus/redis/, and never imports another role's file: what roles share lives in the shared files named here, and only memory.ts and redis.ts put the roles together.",
      severity: 'error',
      from: { path: '^src/bus/(memory|redis)/' },
      to: { path: '^src/bus/(memory|redis)/', pathNot: '^src/bus/(memory/deliveries|redis/(connection|codec|link|live|streams|hold))[.]ts$' },
    },
    {
      name: 'bus-implementations-apart',
      comment: 'The in-memory bus and the Redis bus share the role interfaces (src/bus/types.ts), not code.',
      severity: 'error',
      from: { path: '^src/bus/(memory|redis)' },
      to: { path: '^src/bus/(memory|redis)', pathNot: '^src/bus/$1' },
    },
    {
      name: 'condition-language-is-pure',
      comment: 'The condition language (requires:, relations:, limitsWhen:) runs in the browser too: it imports nothing, so the HMI never pulls server code through it.',
      severity: 'error',
      from: { path: '^src/tags/condition-language[.]ts$' },
      to: { path: '^(src|hmi)/' },
    },
    {
      name: 'tags-below-config',
      severity: 'error',
      from: { path: layer('tags') },
      to: { path: layer('config') },
    },
    {
      name: 'only-cli-imports-cli',
      severity: 'error',
      from: { pathNot: layer('cli') },
      to: { path: layer('cli') },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.js', '.mjs'] },
  },
};
