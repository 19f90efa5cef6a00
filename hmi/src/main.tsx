/**
 * Entry point: asks who this browser is (showing the sign-in page when
 * guests may not view), loads the plant, its tags and its commands over
 * REST (retrying until the server answers), creates the state, opens the
 * live stream and renders.
 *
 * The layout: one folder per feature, each with its model (plain functions
 * the unit tests in test/hmi reach), its store, its components and screens,
 * and its stylesheet; what several features use is in shared/.
 *   live/      the stream (SSE parser, client, sync into the state), the HMI
 *              state, tag and quality views; the tag browser, faceplate, devices
 *   overview/  the configured dashboards and the generic overview
 *   mimic/     SVG process mimics: sanitising, bindings, the screen
 *   alarms/    the alarm board and annunciator, banner, summary, shelving, rates
 *   commands/  the command store (select/operate), dialog, panels, parameters
 *   journal/   the live journal and the journal browser
 *   trends/    live trend buffers, history and export, the cycle report
 *   session/   who is signed in; sign-in, users, tokens and the audit trail
 *   notify/    the Notifications page (engineers): channels, the sent and failed log
 *   shared/    the REST client, context, router, pages, formatting, periods,
 *              the range picker, the theme and the base styles
 * At the root: this file, app.tsx (the screen for the route) and TopBar.tsx
 * with nav.ts (the bar above every screen).
 */
import { effect, signal, untracked } from '@preact/signals';
import { render } from 'preact';
import { fetchCommands, fetchPlant, fetchTags, fetchTexts } from './shared/api.js';
import { App } from './app.js';
import { applyTheme, storedTheme } from './shared/ThemeToggle.js';
import { HmiContext } from './shared/context.js';
import { createRouter } from './shared/router.js';
import { createHmiState } from './live/state.js';
import { SignIn } from './session/SignIn.js';
import { loadSession, session, sessionLost } from './session/session.js';
import { StreamClient } from './live/stream.js';
import { createStreamSync } from './live/sync.js';
import { ReplayController } from './replay/replay.js';
import { applyLocale, loadCatalogue, locale, msg } from './i18n/locale.js';
import { loadConfigTexts, localizeCommands } from './i18n/plant-texts.js';
import './shared/theme.css';
import './shared/base.css';
import './shared/layout.css';
import './shared/widgets.css';
import './mimic/mimic.css';
import './commands/commands.css';
import './alarms/alarms.css';
import './session/auth.css';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function Booting({ problem }: { problem: string | null }) {
  return (
    <main class="page booting">
      <h1>Planta</h1>
      <p role="status">{problem ? msg().boot.noAnswer(problem) : msg().boot.loading}</p>
    </main>
  );
}

async function boot(root: HTMLElement): Promise<void> {
  const problem = signal<string | null>(null);
  render(<Booting problem={problem.value} />, root);
  const unsubscribe = problem.subscribe((p) => render(<Booting problem={p} />, root));
  let wait = 1000;
  for (;;) {
    try {
      // Who we are first: where guests may not view, nothing of the plant is asked for before signing in.
      const who = await loadSession();
      if (who.kind === 'sign-in') {
        unsubscribe();
        render(<SignIn usersExist={who.usersExist} onSignedIn={() => void boot(root)} />, root);
        return;
      }
      // The page works without commands (e.g. an older server): their panel then says why they are missing.
      const [plant, tags, commands] = await Promise.all([
        fetchPlant(),
        fetchTags(),
        fetchCommands().then(
          (list) => ({ list }),
          (err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }),
        ),
        // The plant's texts in Spanish, with the page's other first requests (none for an English page).
        loadConfigTexts(locale.value, fetchTexts),
      ]);
      unsubscribe();
      const state = createHmiState(plant, tags);
      if ('list' in commands) {
        localizeCommands(commands.list);
        state.commands.setDefinitions(commands.list);
      }
      else state.commands.definitionsFailed(commands.error);
      start(root, state);
      return;
    } catch (err) {
      problem.value = err instanceof Error ? err.message : String(err);
      await sleep(wait);
      wait = Math.min(10_000, wait * 1.5);
    }
  }
}

function start(root: HTMLElement, state: ReturnType<typeof createHmiState>): void {
  const router = createRouter();
  const sync = createStreamSync(state);
  const client = new StreamClient({ url: 'api/stream' }, { ...sync, unauthorized: () => sessionLost(msg().boot.sessionEnded) });
  // Live, or the recorded plant when the URL names a moment (replay stops and starts the live stream).
  const replay = new ReplayController({ state, sync, live: { start: () => client.start(), stop: () => client.stop() } });
  replay.begin();
  window.addEventListener('online', () => client.retryNow());
  // Signed in again after the session ended: the stream need not wait for its next attempt.
  session.subscribe((s) => {
    if (s) client.retryNow();
  });
  // The clock ticks on the second, so ages and times change together.
  const tick = (): void => {
    // In replay the clock is the moment shown (the replay moves it).
    if (!state.replay.value) state.clock.value = Date.now();
    setTimeout(tick, 1000 - (Date.now() % 1000) + 5);
  };
  tick();
  // Browsers allow sound only after a gesture: the first click or key press arms it (every one may, until it works).
  const arm = (): void => state.sound.arm();
  document.addEventListener('pointerdown', arm, { capture: true });
  document.addEventListener('keydown', arm, { capture: true });
  // The reminder tone while a critical or high alarm is unacknowledged, checked every second.
  effect(() => {
    void state.clock.value;
    const s = state.alarms.summary.value;
    // No reminder tone for alarms of the past.
    if (!state.replay.value) untracked(() => state.sound.tick(s.urgent, s.highest));
  });
  render(
    <HmiContext.Provider value={{ state, router, replay }}>
      <App />
    </HmiContext.Provider>,
    root,
  );
}

applyTheme(storedTheme());
applyLocale();
// The first screen in the chosen language (English meanwhile, should its script fail to load).
void loadCatalogue(locale.value)
  .catch(() => undefined)
  .then(() => boot(document.getElementById('app')!));
