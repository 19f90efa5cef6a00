/** The navigation: overview, the other configured pages, the alarm summary and the journal, the trends and the cycle report, the parameters (when there are any), the tag browser and the devices. */
import type { HmiPage } from './shared/pages.js';
import { type Route, hrefPage } from './shared/router.js';
import { msg } from './i18n/locale.js';

export interface NavItem {
  label: string;
  href: string;
  matches(route: Route): boolean;
}

/** The first dashboard is "Overview"; a single mimic is "Mimic"; other pages go by their title. */
export function navItems(pages: readonly HmiPage[], options: { parameters?: boolean } = {}): NavItem[] {
  const home = pages.find((p) => p.kind === 'dashboard');
  const mimics = pages.filter((p) => p.kind === 'mimic').length;
  const t = msg().nav;
  const items: NavItem[] = [
    { label: t.overview, href: '#/', matches: (r) => r.kind === 'home' || (r.kind === 'page' && r.name === home?.name) },
  ];
  for (const p of pages) {
    if (p === home) continue;
    const label = p.kind === 'mimic' && mimics === 1 ? t.mimic : p.title;
    items.push({ label, href: hrefPage(p.name), matches: (r) => r.kind === 'page' && r.name === p.name });
  }
  items.push(
    { label: t.alarms, href: '#/alarms', matches: (r) => r.kind === 'alarms' || r.kind === 'alarm-rates' },
    { label: t.journal, href: '#/journal', matches: (r) => r.kind === 'journal' },
    { label: t.trends, href: '#/trends', matches: (r) => r.kind === 'trends' },
    // The printable reports are reached from the cycle report (a phone's menu stays short).
    { label: t.cycles, href: '#/cycles', matches: (r) => r.kind === 'cycles' || r.kind === 'report' },
  );
  if (options.parameters) items.push({ label: t.parameters, href: '#/parameters', matches: (r) => r.kind === 'parameters' });
  items.push(
    { label: t.tags, href: '#/tags', matches: (r) => r.kind === 'tags' || r.kind === 'tag' },
    { label: t.devices, href: '#/devices', matches: (r) => r.kind === 'devices' },
  );
  return items;
}
