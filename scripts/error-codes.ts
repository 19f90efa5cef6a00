/**
 * The reference of docs/error-codes.md, made from the error catalogue
 * (src/errors.ts): per area, every code with the HTTP status it is answered
 * with and what it means. test/errors/catalogue.test.ts fails while the page
 * is out of date;
 *   node --import tsx scripts/error-codes.ts
 * rewrites it.
 */
import { pathToFileURL } from 'node:url';
import { AREAS, type Area, statusesOf } from '../src/errors.js';
import { generatedPart } from './generated-docs.js';

/** Markdown table cells: no bare |, no < (read as HTML). */
const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/</g, '&lt;');

function area({ title, intro, codes }: Area): string {
  return [
    `## ${title}`,
    '',
    intro,
    '',
    '| code | HTTP | meaning |',
    '|---|---|---|',
    ...Object.entries(codes).map(([code, entry]) => `| \`${code}\` | ${statusesOf(entry).join(', ') || '—'} | ${cell(entry.meaning)} |`),
  ].join('\n');
}

/** The generated reference: a heading and a table per area, in the catalogue's order. */
export function errorCodeReference(): string {
  return AREAS.map(area).join('\n\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  generatedPart('error-codes.md', 'error-codes').write(errorCodeReference());
  console.log('docs/error-codes.md: reference rewritten');
}
