/**
 * docs/http-api.md documents every route a fully wired server registers and
 * every event of the live stream: its route table is generated from the
 * routes (PLANTA_UPDATE_DOCS=1 rewrites it), and each route and each event
 * has a section of its own, which the table links to.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { framed, generatedPart } from '../../scripts/generated-docs.js';
import { ACCESS_LEVELS, type RouteAccess } from '../../src/web/access.js';
import { wiredServer } from './wired.js';

const PAGE = 'http-api.md';

/** GitHub's anchor for a heading (as test/docs/links.test.ts reads them). */
const slug = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, '')
    .replace(/[^\p{L}\p{N} -]/gu, '')
    .replace(/ /g, '-');

const heading = (r: { method: string; url: string }): string => `\`${r.method} ${r.url}\``;

/** Method, route (linked to its section) and access of every route but HEAD (answered wherever GET is). */
function routeTable(routes: RouteAccess[]): string {
  const rows = routes
    .filter((r) => r.method !== 'HEAD')
    .sort((a, b) => a.url.localeCompare(b.url) || a.method.localeCompare(b.method))
    .map((r) => `| ${r.method} | [\`${r.url}\`](#${slug(heading(r))}) | ${r.access} |`);
  return ['| method | route | access |', '|---|---|---|', ...rows].join('\n');
}

/** The events the stream hub sends, from its source: each `emit('name', …)`, and the snapshot. */
function streamEvents(): string[] {
  const source = readFileSync(new URL('../../src/web/stream.ts', import.meta.url), 'utf8');
  return [...new Set(['snapshot', ...[...source.matchAll(/this\.emit\('([a-z]+)'/g)].map((m) => m[1]!)])].sort();
}

describe('docs/http-api.md', { timeout: 120_000 }, () => {
  it('lists every registered route, with its access, and gives each a section; every stream event has one too', async (t) => {
    const w = await wiredServer(t);
    await w.app.ready();
    const routes = w.routes();
    for (const r of routes) assert.ok(ACCESS_LEVELS.includes(r.access as never), `${r.method} ${r.url}: ${r.access}`);
    const table = routeTable(routes);

    const part = generatedPart(PAGE, 'routes');
    if (process.env.PLANTA_UPDATE_DOCS === '1') part.write(table);
    else assert.equal(part.current, framed(table), 'docs/http-api.md: the route table differs from the routes (PLANTA_UPDATE_DOCS=1 rewrites it)');

    const headings = new Set(
      readFileSync(new URL(`../../docs/${PAGE}`, import.meta.url), 'utf8')
        .split('\n')
        .filter((l) => /^#{2,4} /.test(l))
        .map((l) => l.replace(/^#+ /, '').trim()),
    );
    const undocumented = routes.filter((r) => r.method !== 'HEAD' && !headings.has(heading(r))).map(heading);
    assert.deepEqual(undocumented, [], 'routes without a section "### `METHOD /path`" in docs/http-api.md');
    const events = streamEvents();
    assert.ok(events.length >= 7, `the stream's events: ${events.join(', ')}`);
    assert.deepEqual(events.filter((e) => !headings.has(`\`event: ${e}\``)), [], 'stream events without a section "### `event: NAME`"');
  });
});
