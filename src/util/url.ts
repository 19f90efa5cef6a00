/** URLs in logs and messages. */

/** user:password@ of a URL with several hosts (redis-sentinel://, postgres://h1,h2/…), which URL cannot read. */
const MULTI_HOST = /^([a-z][a-z0-9+.-]*:\/\/)(?:([^:@/]*)(?::[^@/]*)?@)?([^/?#]*,[^/?#]*)(.*)$/i;

/** The URL without its password, for logs and messages. */
export function redactUrl(url: string): string {
  const multi = MULTI_HOST.exec(url);
  if (multi) {
    const [, scheme, user, hosts, rest] = multi;
    const hasPassword = /^[a-z][a-z0-9+.-]*:\/\/[^:@/]*:[^@/]*@/i.test(url);
    return `${scheme}${user !== undefined ? `${user}${hasPassword ? ':***' : ''}@` : ''}${hosts}${rest!.replace(/(password=)[^&#]*/gi, '$1***')}`;
  }
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unreadable URL)';
  }
}
