/**
 * Routes in location.hash, so the server serves one page and a link is
 * shareable:  #/  (first dashboard)  #/alarms (alarm summary)  #/alarms/<id> (the
 * summary showing that alarm: a notification's link)  #/journal
 * #/alarm-rates  #/tags  #/tags/<name>  #/devices  #/parameters
 * #/login/<where to go next>  #/users  #/audit  #/notifications
 * #/trends?pens=a,b&last=day (or &from=ISO&to=ISO)  #/cycles?last=week
 * #/report?day=2026-12-07 (the day report)  #/report?cycle=<start, epoch ms> (one cycle's report)
 * #/<page name> (a configured page, e.g. #/mimic).
 */
import { type ReadonlySignal, signal } from '@preact/signals';

export type Route =
  | { kind: 'home' }
  | { kind: 'alarms'; focus?: string }
  | { kind: 'journal' }
  | { kind: 'alarm-rates' }
  | { kind: 'tags'; query: string }
  | { kind: 'tag'; name: string }
  | { kind: 'devices' }
  | { kind: 'parameters' }
  | { kind: 'login'; next: string }
  | { kind: 'users' }
  | { kind: 'audit' }
  | { kind: 'notifications' }
  | { kind: 'trends'; query: string }
  | { kind: 'cycles'; query: string }
  | { kind: 'report'; query: string }
  | { kind: 'page'; name: string };

export function parseRoute(hash: string): Route {
  // The trend and the cycle report carry their state in a query, so a view can be bookmarked.
  const withQuery = /^#?\/?(trends|cycles|report)(?:\?(.*))?$/.exec(hash);
  if (withQuery) return { kind: withQuery[1] as 'trends' | 'cycles' | 'report', query: withQuery[2] ?? '' };
  // Other routes take no query but replay's moment (?at=…, read by replay/): the path is what comes before it.
  const path = hash.replace(/^#\/?/, '').split('?')[0]!;
  const [head = '', ...rest] = path.split('/');
  const tail = safeDecode(rest.join('/'));
  switch (head) {
    case '':
      return { kind: 'home' };
    case 'alarms':
      return tail ? { kind: 'alarms', focus: tail } : { kind: 'alarms' };
    case 'journal':
      return { kind: 'journal' };
    case 'alarm-rates':
      return { kind: 'alarm-rates' };
    case 'devices':
      return { kind: 'devices' };
    case 'parameters':
      return { kind: 'parameters' };
    case 'login':
      // Back to a display of this HMI after signing in: only ever a local #/ route (no open redirect).
      return { kind: 'login', next: tail.startsWith('#/') ? tail : '#/' };
    case 'users':
      return { kind: 'users' };
    case 'audit':
      return { kind: 'audit' };
    case 'notifications':
      return { kind: 'notifications' };
    case 'tags':
      return tail ? { kind: 'tag', name: tail } : { kind: 'tags', query: '' };
    default:
      return { kind: 'page', name: safeDecode(head) };
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export const hrefTag = (name: string): string => `#/tags/${encodeURIComponent(name)}`;
export const hrefPage = (name: string): string => `#/${encodeURIComponent(name)}`;
/** The day report (today's without a day, "2026-12-07" in the plant's zone). */
export const hrefDayReport = (day?: string): string => (day ? `#/report?day=${encodeURIComponent(day)}` : '#/report');
/** One cycle's printable report, by its start. */
export const hrefCycleReport = (start: number): string => `#/report?cycle=${Math.floor(start)}`;
export const hrefLogin = (next: string): string => `#/login/${encodeURIComponent(next)}`;

export interface Router {
  route: ReadonlySignal<Route>;
  dispose(): void;
}

export function createRouter(win: Window = window): Router {
  const route = signal(parseRoute(win.location.hash));
  const onChange = (): void => {
    route.value = parseRoute(win.location.hash);
  };
  win.addEventListener('hashchange', onChange);
  return { route, dispose: () => win.removeEventListener('hashchange', onChange) };
}
