/** A broker's user name and password from env:PREFIX (PREFIX_USER, PREFIX_PASSWORD) or file:PATH (user, then password), never from the configuration. */
import { readFileSync } from 'node:fs';
import { PlantaError } from '../errors.js';

export interface Credentials {
  username: string;
  password: string;
}

export function readCredentials(ref: string, env: NodeJS.ProcessEnv = process.env): Credentials {
  if (ref.startsWith('env:')) {
    const prefix = ref.slice(4);
    const username = env[`${prefix}_USER`];
    const password = env[`${prefix}_PASSWORD`];
    if (!username || password === undefined) throw new PlantaError('PLANTA_NORTHBOUND_CREDENTIALS', `${ref}: set ${prefix}_USER and ${prefix}_PASSWORD`);
    return { username, password };
  }
  const path = ref.slice(5);
  let lines: string[];
  try {
    lines = readFileSync(path, 'utf8').split(/\r?\n/);
  } catch (err) {
    throw new PlantaError('PLANTA_NORTHBOUND_CREDENTIALS', `${ref}: ${(err as Error).message}`);
  }
  if (!lines[0] || lines[1] === undefined) throw new PlantaError('PLANTA_NORTHBOUND_CREDENTIALS', `${ref}: expected the user on the first line and the password on the second`);
  return { username: lines[0], password: lines[1] };
}
