import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './util/root.js';

const pkg = JSON.parse(readFileSync(join(projectRoot(import.meta.url), 'package.json'), 'utf8')) as { version: string };

export const VERSION: string = pkg.version;
