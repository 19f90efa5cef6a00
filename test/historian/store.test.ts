/** The store contract on SQLite (in memory). */
import { SqliteStore } from '../../src/historian/sqlite.js';
import { storeContract } from './contract.js';

storeContract('sqlite', async (_t, o) => new SqliteStore(':memory:', o));
