/**
 * The shipped mimic (issue 21): no item of the SBR drawing stays static.
 * Every equipment item, vessel and probe of config/sbr-mimic.svg is bound to
 * a tag of the shipped configuration, every element with an id is either
 * bound or the state word of one that is, every equipment item has its state
 * word, and every binding names an element that exists.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';

const ROOT = new URL('../../', import.meta.url).pathname;

interface Element {
  name: string;
  id?: string;
  classes: string[];
}

/** The drawing's elements with their ids and classes (the shipped drawing is plain SVG: one tag, attributes in quotes). */
function elements(svg: string): Element[] {
  const body = svg.replace(/<!--[\s\S]*?-->/g, '').replace(/<style>[\s\S]*?<\/style>/g, '');
  return [...body.matchAll(/<([a-zA-Z]+)\b([^>]*)>/g)].map((m) => {
    const attrs = Object.fromEntries([...m[2]!.matchAll(/([\w:-]+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!]));
    return { name: m[1]!, ...(attrs.id ? { id: attrs.id } : {}), classes: (attrs.class ?? '').split(/\s+/).filter(Boolean) };
  });
}

describe('the shipped mimic drawing', () => {
  const config = loadConfig(`${ROOT}config/sbr-plant.yaml`);
  const page = Object.values(config.pages).find((p) => p.kind === 'mimic');
  assert.ok(page && page.kind === 'mimic');
  const svg = readFileSync(`${ROOT}config/${page.drawing}`, 'utf8');
  const all = elements(svg);
  const bound = new Map<string, string[]>();
  for (const b of page.bindings) bound.set(b.element, [...(bound.get(b.element) ?? []), `${b.as}:${b.tag}`]);

  it('binds every equipment item, vessel and probe to its tags', () => {
    const items = all.filter((e) => e.classes.some((c) => c === 'equipment' || c === 'vessel' || c === 'probe'));
    assert.ok(items.length >= 20, `${items.length} items`);
    const unbound = items.filter((e) => !e.id || !bound.has(e.id)).map((e) => e.id ?? `<${e.name} class="${e.classes.join(' ')}">`);
    assert.deepEqual(unbound, [], 'items of the drawing without a binding');
    // The kinds the issue names are all there.
    for (const id of ['aerator-1', 'aerator-2', 'inlet-pump-1', 'transfer-pump-1', 'outlet-pump-1', 'recirculation-pump', 'discharge-valve', 'foam-valve', 'recirculation-valve', 'equalisation-aerator', 'reactor-level', 'oxygen-probe', 'turbidity-probe', 'discharge-volume-text', 'estop']) {
      assert.ok(bound.has(id), `${id} is bound`);
    }
  });

  it('leaves no element with an id static: each is bound or the state word of a bound one', () => {
    const stray = all.filter((e) => e.id && e.id !== undefined && !bound.has(e.id) && !(e.id.endsWith('-state') && bound.has(e.id.slice(0, -'-state'.length))));
    assert.deepEqual(stray.map((e) => e.id), []);
  });

  it('gives every equipment item a state word, so that its state is never told by fill or colour alone', () => {
    const ids = new Set(all.map((e) => e.id));
    const missing = all.filter((e) => e.classes.includes('equipment') && !ids.has(`${e.id}-state`)).map((e) => e.id);
    assert.deepEqual(missing, []);
  });

  it('names in each binding an element the drawing has, with an accessible name', () => {
    const byId = new Map(all.filter((e) => e.id).map((e) => [e.id!, e]));
    assert.deepEqual(page.bindings.filter((b) => !byId.has(b.element)).map((b) => b.element), []);
    const unnamed = [...bound.keys()].filter((id) => !new RegExp(`id="${id}"[^>]*aria-label="[^"]+"`).test(svg));
    assert.deepEqual(unnamed, []);
  });
});
