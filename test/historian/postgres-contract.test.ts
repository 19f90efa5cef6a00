/** The store contract on PostgreSQL (the machine's, a schema per test). */
import { storeContract } from './contract.js';
import { needPostgres, pgStore, testSchema } from './pg-helpers.js';

storeContract('postgres', async (t, o) => {
  if (!(await needPostgres(t))) return undefined;
  return pgStore(t, { schema: testSchema(t), ...o });
});
