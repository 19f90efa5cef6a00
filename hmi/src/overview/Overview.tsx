/**
 * A dashboard page (level 1–2): the key measurements as analog bars with
 * their limits, the key values, the cycle's steps with the operators'
 * commands next to them, the active alarms (from the alarm engine, with
 * Acknowledge) and the event list (the plant's journal). On phones a
 * summary comes first (Glance.tsx), so the first screen holds what matters.
 */
import { overviewAlarms } from '../alarms/alarm-model.js';
import { AlarmList } from '../alarms/AlarmList.js';
import { AnalogBar } from './AnalogBar.js';
import { CommandPanel } from '../commands/CommandPanel.js';
import { EventList } from '../journal/EventList.js';
import { PhaseSteps } from './PhaseSteps.js';
import { ValueList } from './ValueList.js';
import { useHmiState } from '../shared/context.js';
import type { DashboardPage } from '../shared/pages.js';
import { Glance, barProps } from './Glance.js';
import { msg } from '../i18n/locale.js';

function Bars({ page }: { page: DashboardPage }) {
  const state = useHmiState();
  return (
    <div class="bars">
      {page.bars.map((b) => (
        <AnalogBar key={b.tag} {...barProps(state, b)} />
      ))}
    </div>
  );
}

function AlarmCount() {
  const state = useHmiState();
  const n = overviewAlarms(state.alarms.list.value).length;
  const unacked = state.alarms.summary.value.unacked;
  return (
    <span class={`count ${unacked > 0 ? 'count-alarm' : ''}`} aria-label={msg().overview.shownUnacked(n, unacked)}>
      {n}
    </span>
  );
}

export function Overview({ page }: { page: DashboardPage }) {
  const t = msg().overview;
  return (
    <main class="page dashboard" aria-labelledby="page-title">
      <h1 id="page-title">{page.title}</h1>
      <div class="dash-grid">
        <div class="dash-col">
          {/* Phones: what matters first, on the first screen. */}
          <Glance page={page} />
          {page.bars.length > 0 && (
            <section class="panel dash-bars" aria-labelledby="h-measurements">
              <h2 id="h-measurements">{t.measurements}</h2>
              <Bars page={page} />
            </section>
          )}
          <div class="dash-cycle">
            {page.phases && (
              <section class="panel dash-phases" aria-labelledby="h-cycle">
                <h2 id="h-cycle">{t.cycle}</h2>
                <PhaseSteps phases={page.phases} />
              </section>
            )}
            <CommandPanel />
          </div>
          {page.values.length > 0 && (
            <section class="panel dash-values" aria-labelledby="h-values">
              <h2 id="h-values">{t.values}</h2>
              <ValueList tags={page.values} />
            </section>
          )}
        </div>
        <div class="dash-col">
          <section class="panel dash-alarms" id="alarms" aria-labelledby="h-alarms">
            <h2 id="h-alarms">
              {t.activeAlarms} <AlarmCount />{' '}
              <a class="h-link" href="#/alarms">
                {t.allAlarms}
              </a>
            </h2>
            <AlarmList />
          </section>
          <section class="panel dash-events" aria-labelledby="h-events">
            <h2 id="h-events">{t.events}</h2>
            <EventList />
          </section>
        </div>
      </div>
    </main>
  );
}
