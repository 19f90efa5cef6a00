/**
 * The architecture of ../shared/DESIGN.md as rules: dependencies point one way.
 * modbus ← tags ← poller; bus is used by everything above it; web and hmi never
 * import modbus or poller. No cycles.
 */
const layer = (name) => `^src/${name}/`;
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
      from: { path: '^src/util/' },
      to: { path: '^src/', pathNot: '^src/util/' },
    },
    {
      name: 'web-never-touches-the-wire',
      comment: 'Only the poller owns PLC connections; the web and the HMI never import modbus or poller.',
      severity: 'error',
      from: { path: ['^src/web/', '^hmi/'] },
      to: { path: ['^src/modbus/', '^src/poller/', '^src/sim/'] },
    },
    {
      name: 'notify-never-touches-the-wire',
      comment: 'Notifications consume alarm events from the bus; they never import modbus, poller or sim (no PLC is ever reached from them).',
      severity: 'error',
      from: { path: '^src/notify/' },
      to: { path: ['^src/modbus/', '^src/poller/', '^src/sim/', '^src/web/', '^src/alarms/'] },
    },
    {
      name: 'lower-layers-do-not-import-upper',
      comment: 'config, tags and bus sit below poller, alarms, commands, historian, auth, web, sim and cli.',
      severity: 'error',
      from: { path: ['^src/config/', '^src/tags/', '^src/bus/'] },
      to: { path: ['^src/poller/', '^src/alarms/', '^src/commands/', '^src/historian/', '^src/auth/', '^src/web/', '^src/sim/', '^src/cli/', '^src/notify/'] },
    },
    {
      name: 'tags-below-config',
      severity: 'error',
      from: { path: '^src/tags/' },
      to: { path: '^src/config/' },
    },
    {
      name: 'only-cli-imports-cli',
      severity: 'error',
      from: { pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
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
