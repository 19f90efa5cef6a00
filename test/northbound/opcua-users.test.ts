/** OPC UA sign-in against Planta's user store: right and wrong passwords, disabled users, and the wait after repeated failures. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { hashPassword } from '../../src/auth/passwords.js';
import { sqliteDirectory } from '../../src/auth/directory.js';
import { AuthStore } from '../../src/auth/store.js';
import { directoryUsers } from '../../src/northbound/opcua/users.js';

it('signs in Planta users with their role, refuses wrong passwords and disabled users, and holds an account back after 5 failures', async () => {
  const store = new AuthStore(':memory:');
  try {
    const dir = sqliteDirectory(store);
    await dir.addUser('ana', 'operator', await hashPassword('ana-operator-password-1'));
    await dir.addUser('old', 'engineer', await hashPassword('old-engineer-password-1'));
    await dir.setDisabled('old', true);
    let clock = 1_000_000;
    const check = directoryUsers(dir, () => clock);
    assert.deepEqual(await check('ana', 'ana-operator-password-1'), { user: 'ana', role: 'operator' });
    assert.equal(await check('old', 'old-engineer-password-1'), undefined, 'a disabled user');
    assert.equal(await check('nobody', 'x'), undefined);
    for (let i = 0; i < 5; i++) assert.equal(await check('ana', `wrong-${i}`), undefined);
    assert.equal(await check('ana', 'ana-operator-password-1'), undefined, 'held back: even the right password waits');
    clock += 2001;
    assert.deepEqual(await check('ana', 'ana-operator-password-1'), { user: 'ana', role: 'operator' }, 'after the wait');
  } finally {
    store.close();
  }
});
