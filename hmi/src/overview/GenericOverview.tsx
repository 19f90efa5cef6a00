/** The overview when the configuration has no dashboard: every tag with a display range as a bar, the operators' commands, the active alarms and the journal. */
import { AlarmList } from '../alarms/AlarmList.js';
import { AnalogBar } from './AnalogBar.js';
import { CommandPanel } from '../commands/CommandPanel.js';
import { EventList } from '../journal/EventList.js';
import { useHmiState } from '../shared/context.js';
import { viewTag } from '../live/tag-view.js';
import { msg } from '../i18n/locale.js';

export function GenericOverview() {
  const state = useHmiState();
  const ranged = state.tagList.filter((t) => t.range);
  const t = msg().overview;
  return (
    <main class="page dashboard" aria-labelledby="page-title">
      <h1 id="page-title">{msg().titles.overview}</h1>
      <div class="dash-grid">
        <div class="dash-col">
        <section class="panel dash-bars" aria-labelledby="h-measurements">
          <h2 id="h-measurements">{t.measurements}</h2>
          {ranged.length === 0 ? (
            <p class="empty">
              {t.noRange}
              <a href="#/tags">{t.allTags}</a>.
            </p>
          ) : (
            <div class="bars">
              {ranged.map((t) => (
                <AnalogBar key={t.name} view={viewTag(state, t.name)} />
              ))}
            </div>
          )}
        </section>
        <CommandPanel />
        </div>
        <div class="dash-col">
        <section class="panel dash-alarms" id="alarms" aria-labelledby="h-alarms">
          <h2 id="h-alarms">
            {t.activeAlarms}{' '}
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
