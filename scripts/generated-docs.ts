/**
 * The generated parts of docs/ pages: text between `<!-- NAME:start -->` and
 * `<!-- NAME:end -->`, made from the code (the configuration schema, the
 * registered routes). Tests compare them and, with PLANTA_UPDATE_DOCS=1,
 * rewrite them.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export const DOCS = new URL('../docs/', import.meta.url).pathname;

export interface GeneratedPart {
  /** What the page holds there now. */
  current: string;
  /** Puts `content` there (a blank line around it). */
  write(content: string): void;
}

export function generatedPart(page: string, name: string): GeneratedPart {
  const path = `${DOCS}${page}`;
  const doc = readFileSync(path, 'utf8');
  const [start, end] = [`<!-- ${name}:start -->`, `<!-- ${name}:end -->`];
  const [from, to] = [doc.indexOf(start) + start.length, doc.indexOf(end)];
  if (from < start.length || to < from) throw new Error(`docs/${page} has no ${start} … ${end}`);
  return {
    current: doc.slice(from, to),
    write: (content) => writeFileSync(path, `${doc.slice(0, from)}\n${content}\n${doc.slice(to)}`),
  };
}

/** The text a part must hold for `content` (as write() puts it). */
export const framed = (content: string): string => `\n${content}\n`;
