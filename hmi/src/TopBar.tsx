/** The top of every page: plant name, plant time, this browser's sound and theme, navigation, the alarm banner and the connection banner. */
import { onOverview } from './commands/command-model.js';
import { useHmi } from './shared/context.js';
import { formatTime, zoneName } from './shared/format.js';
import { type NavItem, navItems } from './nav.js';
import { hrefLogin } from './shared/router.js';
import { session, signInNeeded } from './session/session.js';
import { AlarmBanner } from './alarms/AlarmBanner.js';
import { ConnectionBanner } from './live/Banner.js';
import { SessionBox } from './session/SessionBox.js';
import { SoundToggle } from './alarms/SoundToggle.js';
import { ThemeToggle } from './shared/ThemeToggle.js';
import { ReplayStart } from './replay/ReplayBar.js';
import { LanguageSwitch } from './i18n/LanguageSwitch.js';
import { msg } from './i18n/locale.js';

/** A request was refused for want of a signed-in user (a session that ran out): say so, with the way back. */
function SignInNeeded() {
  const { router } = useHmi();
  const why = signInNeeded.value;
  if (!why || router.route.value.kind === 'login' || session.value?.via === 'session') return null;
  return (
    <div class="banner banner-signin" role="alert">
      <span class="banner-line">
        <span class="banner-icon" aria-hidden="true">!</span>
        <span>{why}</span>{' '}
        <a class="banner-button" href={hrefLogin(window.location.hash || '#/')}>
          {msg().shell.signIn}
        </a>
      </span>
    </div>
  );
}

export function TopBar() {
  const { state, router } = useHmi();
  const now = state.clock.value;
  const defs = state.commands.definitions.value;
  const items = navItems(state.pages, { parameters: defs.status === 'ready' && defs.list.some((c) => !onOverview(c)) });
  const current = router.route.value;
  return (
    <>
    <header class="topbar">
      <div class="topbar-row">
        <span class="plant-name" title={state.plant.name}>
          {state.plant.name}
        </span>
        <span class="plant-clock" title={msg().shell.plantZone(state.timeZone)}>
          <span class="num">{formatTime(now, state.timeZone)}</span> {zoneName(now, state.timeZone)}
        </span>
        <ReplayStart />
        <LanguageSwitch />
        <SoundToggle />
        <ThemeToggle />
        <SessionBox />
      </div>
      <nav class="nav" aria-label={msg().shell.displays}>
        {items.map((item: NavItem) => (
          <a key={item.href} href={item.href} class="nav-link" aria-current={item.matches(current) ? 'page' : undefined}>
            {item.label}
          </a>
        ))}
      </nav>
    </header>
    <div class="banners">
      <AlarmBanner />
      <ConnectionBanner />
      <SignInNeeded />
    </div>
    </>
  );
}
