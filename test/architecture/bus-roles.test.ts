/**
 * Each process sees only its part of the bus: outside src/cli (which opens
 * the whole connection) and the two implementations that put every role
 * together (src/bus/memory.ts, src/bus/redis.ts), no parameter, property or
 * variable is declared with a type carrying every method of `Bus` — whether it is named
 * `Bus`, an alias of it, or an intersection of all the roles. A consumer
 * declares the roles it uses (`bus: ValueBus & LeaseBus`).
 *
 * The type checker decides, not a grep: an aliased import or an inline
 * `import('…').Bus` is caught as well. The check is first run on a probe
 * module that takes the whole bus, so a check that stopped finding anything
 * fails too.
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const ROOT = new URL('../..', import.meta.url).pathname;
/** Where the whole bus may be taken. */
const ALLOWED = [/^src\/cli\//, /^src\/bus\/(types|memory|redis)\.ts$/];
const PROBE = join(ROOT, 'src/web/__whole-bus-probe__.ts');
const PROBE_TEXT = `import type { Bus as Whole, ValueBus, CommandBus, CommandExecutionBus, OutcomeBus, LeaseBus, AlarmBus, JournalBus, RpcBus, BusConnection } from '../bus/types.js';
export function byName(bus: Whole): void { void bus; }
export function inline(bus: import('../bus/types.js').Bus): void { void bus; }
export interface Holder { bus: ValueBus & CommandBus & CommandExecutionBus & OutcomeBus & LeaseBus & AlarmBus & JournalBus & RpcBus & BusConnection }
export function narrow(bus: ValueBus & LeaseBus): void { void bus; }
`;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

function compile(extra: { path: string; text: string }): ts.Program {
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (f) => f === extra.path || fileExists.call(host, f);
  host.readFile = (f) => (f === extra.path ? extra.text : readFile.call(host, f));
  host.getSourceFile = (f, language, ...rest) =>
    f === extra.path ? ts.createSourceFile(f, extra.text, language, true) : getSourceFile.call(host, f, language, ...rest);
  return ts.createProgram([...sources(join(ROOT, 'src')), extra.path], options, host);
}

/** Every declaration outside the allowed files whose type has all the members of `Bus`, as "file:line name". */
function wholeBusTakers(program: ts.Program): string[] {
  const checker = program.getTypeChecker();
  const types = program.getSourceFile(join(ROOT, 'src/bus/types.ts'));
  assert.ok(types, 'src/bus/types.ts is compiled');
  const busDecl = types.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === 'Bus');
  assert.ok(busDecl, 'src/bus/types.ts declares the interface Bus');
  const members = checker.getTypeAtLocation(busDecl.name).getProperties().map((p) => p.name);
  assert.ok(members.length >= 20, `Bus has its methods (${members.join(', ')})`);
  const whole = (type: ts.Type): boolean => {
    const names = new Set(checker.getPropertiesOfType(checker.getApparentType(type)).map((p) => p.name));
    return members.every((m) => names.has(m));
  };
  const found: string[] = [];
  for (const file of program.getSourceFiles()) {
    const path = relative(ROOT, file.fileName);
    if (!path.startsWith('src/') || ALLOWED.some((re) => re.test(path))) continue;
    const visit = (node: ts.Node): void => {
      // Declared types only: what a module takes is in its annotations (inferring every initialiser would check the whole tree).
      if (
        (ts.isParameter(node) || ts.isPropertyDeclaration(node) || ts.isPropertySignature(node) || ts.isVariableDeclaration(node)) &&
        node.type &&
        whole(checker.getTypeFromTypeNode(node.type))
      ) {
        const { line } = file.getLineAndCharacterOfPosition(node.getStart());
        found.push(`${path}:${line + 1} ${node.name.getText()}`);
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  return found;
}

// One compilation for both checks: the source tree with the probe beside it.
const found = wholeBusTakers(compile({ path: PROBE, text: PROBE_TEXT }));
const inProbe = (f: string): boolean => f.startsWith(relative(ROOT, PROBE));

test('the check finds a module that takes the whole bus, by name, inline or as every role', () => {
  const probe = found.filter(inProbe);
  assert.deepEqual(
    probe.map((f) => f.split(' ')[1]),
    ['bus', 'bus', 'bus'],
    `expected byName, inline and Holder.bus; found ${probe.join(', ')}`,
  );
});

test('outside src/cli, every consumer of the bus takes only the roles it uses', () => {
  assert.deepEqual(found.filter((f) => !inProbe(f)), [], 'take the roles (ValueBus, CommandBus, LeaseBus, …) instead of Bus');
});
