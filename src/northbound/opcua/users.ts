/** OPC UA sign-in against Planta's users: the same names, passwords and roles as the HMI; a disabled user cannot sign in. */
import type { UserDirectory } from '../../auth/directory.js';
import { verifyPassword } from '../../auth/passwords.js';
import type { UserCheck } from './server.js';

export function directoryUsers(directory: Pick<UserDirectory, 'user'>): UserCheck {
  return async (name, password) => {
    const u = await directory.user(name);
    if (!u || u.disabled || !(await verifyPassword(password, u.password))) return undefined;
    return { user: u.name, role: u.role };
  };
}
