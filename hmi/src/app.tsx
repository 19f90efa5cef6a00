/** The page frame: the top bar (always) and the display the route names. */
import { CommandDialog } from './commands/CommandDialog.js';
import { TopBar } from './TopBar.js';
import { ReplayFrame, ReplayTimeline } from './replay/ReplayBar.js';
import { useHmi } from './shared/context.js';
import type { HmiPage } from './shared/pages.js';
import { AlarmRates } from './alarms/AlarmRates.js';
import { AlarmSummary } from './alarms/AlarmSummary.js';
import { CyclesPage } from './trends/CyclesPage.js';
import { useEffect, useState } from 'preact/hooks';
import { Devices } from './live/Devices.js';
import { Faceplate } from './live/Faceplate.js';
import { GenericOverview } from './overview/GenericOverview.js';
import { JournalPage } from './journal/JournalPage.js';
import { Mimic } from './mimic/Mimic.js';
import { Overview } from './overview/Overview.js';
import { Parameters } from './commands/Parameters.js';
import { AuditPage } from './session/AuditPage.js';
import { NotificationsPage } from './notify/NotificationsPage.js';
import { SignIn } from './session/SignIn.js';
import { TagBrowser } from './live/TagBrowser.js';
import { TrendPage } from './trends/TrendPage.js';
import { Users } from './session/Users.js';
import type { Route } from './shared/router.js';
import { session, signInNeeded } from './session/session.js';
import { msg } from './i18n/locale.js';

/** The printable reports are read now and then: their script loads when one is opened. */
function Report({ query }: { query: string }) {
  const [mod, setMod] = useState<typeof import('./reports/ReportPage.js') | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  useEffect(() => {
    import('./reports/ReportPage.js').then(setMod, (err: unknown) => setFailed(err instanceof Error ? err.message : String(err)));
  }, []);
  if (mod) return <mod.ReportPage query={query} />;
  return (
    <main class="page" aria-labelledby="page-title">
      <h1 id="page-title">{msg().titles.dayReport}</h1>
      <p class="empty" role={failed ? 'alert' : 'status'}>
        {failed ? msg().reports.failed(failed) : msg().reports.reading}
      </p>
    </main>
  );
}

function ConfiguredPage({ page }: { page: HmiPage }) {
  return page.kind === 'dashboard' ? <Overview page={page} /> : <Mimic page={page} />;
}

/**
 * The first thing a keyboard reaches: past the top bar and the menu to the display. The routes live in the
 * location's hash, so it moves the focus itself instead of following an in-page link.
 */
function SkipLink() {
  const skip = (e: Event): void => {
    e.preventDefault();
    const main = document.querySelector('main');
    if (!main) return;
    main.setAttribute('tabindex', '-1');
    main.focus();
  };
  return (
    <a class="skip-link" href="#page-title" onClick={skip}>
      {msg().shell.skip}
    </a>
  );
}

function NotFound({ name }: { name: string }) {
  const t = msg().shell;
  return (
    <main class="page" aria-labelledby="page-title">
      <h1 id="page-title">{t.noSuchDisplay}</h1>
      <p class="empty">
        {t.noSuchPage(name)} <a href="#/">{t.backToOverview}</a>
      </p>
    </main>
  );
}

function titleOf(route: Route, pages: readonly HmiPage[]): string {
  const t = msg().titles;
  switch (route.kind) {
    case 'home':
      return t.overview;
    case 'alarms':
      return t.alarms;
    case 'journal':
      return t.journal;
    case 'alarm-rates':
      return t.alarmRates;
    case 'tags':
      return t.tags;
    case 'tag':
      return route.name;
    case 'devices':
      return t.devices;
    case 'parameters':
      return t.parameters;
    case 'trends':
      return t.trends;
    case 'cycles':
      return t.cycles;
    case 'report':
      return /(^|&)cycle=/.test(route.query) ? t.cycleReport : t.dayReport;
    case 'login':
      return t.signIn;
    case 'users':
      return t.users;
    case 'audit':
      return t.audit;
    case 'notifications':
      return t.notifications;
    case 'page':
      return pages.find((p) => p.name === route.name)?.title ?? msg().shell.noSuchDisplay;
  }
}

export function App() {
  const { state, router } = useHmi();
  const route = router.route.value;
  const home = state.pages.find((p) => p.kind === 'dashboard');
  const title = `${titleOf(route, state.pages)} — ${state.plant.name}`;
  useEffect(() => {
    document.title = title;
  }, [title]);
  let page;
  switch (route.kind) {
    case 'home':
      page = home ? <ConfiguredPage page={home} /> : <GenericOverview />;
      break;
    case 'alarms':
      page = <AlarmSummary key={route.focus ?? ''} {...(route.focus ? { focus: route.focus } : {})} />;
      break;
    case 'journal':
      page = <JournalPage />;
      break;
    case 'alarm-rates':
      page = <AlarmRates />;
      break;
    case 'tags':
      page = <TagBrowser />;
      break;
    case 'tag':
      page = <Faceplate name={route.name} />;
      break;
    case 'devices':
      page = <Devices />;
      break;
    case 'parameters':
      page = <Parameters />;
      break;
    case 'trends':
      page = <TrendPage query={route.query} />;
      break;
    case 'cycles':
      page = <CyclesPage query={route.query} />;
      break;
    case 'report':
      page = <Report query={route.query} />;
      break;
    case 'login': {
      const next = route.next;
      page = <SignIn usersExist={session.value?.usersExist} reason={signInNeeded.value} onSignedIn={() => (window.location.hash = next)} />;
      break;
    }
    case 'users':
      page = <Users />;
      break;
    case 'audit':
      page = <AuditPage />;
      break;
    case 'notifications':
      page = <NotificationsPage />;
      break;
    case 'page': {
      const p = state.pages.find((x) => x.name === route.name);
      page = p ? <ConfiguredPage page={p} /> : <NotFound name={route.name} />;
      break;
    }
  }
  return (
    <>
      <SkipLink />
      <ReplayFrame />
      <TopBar />
      {page}
      <ReplayTimeline />
      <CommandDialog />
    </>
  );
}
