/**
 * The overview at a glance, for phones: on the first screen, under the
 * banners, the active alarms (count and the first three by priority), the
 * first three measurements with their state against the limits, and the current
 * step with its time left and the cycle's expected end. Each line leads to
 * its detail further down or on its own page.
 */
import { useEffect, useState } from 'preact/hooks';
import { overviewAlarms, STATE_MARK, stateWord } from '../alarms/alarm-model.js';
import { msg } from '../i18n/locale.js';
import { PriorityBadge, priorityTone } from '../alarms/AlarmMarks.js';
import { sourceHref } from '../alarms/AlarmList.js';
import { QualityMark } from '../live/QualityMark.js';
import { qualityClass } from '../live/quality-view.js';
import type { HmiState } from '../live/state.js';
import { limitValue, viewTag } from '../live/tag-view.js';
import { useHmiState } from '../shared/context.js';
import { formatValue } from '../shared/format.js';
import type { BarSpec, DashboardPage } from '../shared/pages.js';
import { hrefTag } from '../shared/router.js';
import { type AnalogBarProps, limitState } from './AnalogBar.js';
import { CurrentStepOf } from './PhaseSteps.js';
import { limitsWhen } from './limits-when.js';

const TOP = 3;

/** A bar's value, limits, and whether the limits apply now, as the overview's bars draw them. */
export function barProps(state: HmiState, b: BarSpec): AnalogBarProps {
  // A limit that applies only in some state is not a fault outside it (nor when that state is unknown).
  const when = b.limitsWhen ? limitsWhen(b.limitsWhen, (tag) => viewTag(state, tag)) : undefined;
  return {
    view: viewTag(state, b.tag),
    low: limitValue(state, b.low),
    high: limitValue(state, b.high),
    limitsApply: !when || when.apply,
    limitsNote: when && !when.apply ? when.note : undefined,
    ...(when && !when.apply ? { limitsState: when.state } : {}),
  };
}

function Reading({ b }: { b: BarSpec }) {
  const state = useHmiState();
  const p = barProps(state, b);
  const value = typeof p.view.live.value === 'number' ? p.view.live.value : null;
  const where = limitState(value, p.low, p.high, p.limitsApply);
  const abnormal = where === 'high' || where === 'low';
  return (
    <li class={`glance-reading ${qualityClass(p.view.quality)} ${abnormal ? `is-abnormal is-${where}` : ''}`} data-tag={b.tag}>
      <a href={hrefTag(b.tag)} class="glance-name">
        {p.view.info?.description || p.view.name}
      </a>
      <span class="glance-value num">
        {abnormal && (
          <span class="abar-word">
            <span aria-hidden="true">{where === 'high' ? '▲ ' : '▼ '}</span>
            {where === 'high' ? msg().bar.high : msg().bar.low}
          </span>
        )}{' '}
        {formatValue(p.view.info, value)}
        <QualityMark quality={p.view.quality} reason={p.view.reason} />
      </span>
    </li>
  );
}

const PHONE = '(max-width: 600px)';

/** Whether the screen is a phone's, following rotation and resizing. */
function usePhone(): boolean {
  const [phone, setPhone] = useState(() => window.matchMedia(PHONE).matches);
  useEffect(() => {
    const query = window.matchMedia(PHONE);
    const follow = (): void => setPhone(query.matches);
    query.addEventListener('change', follow);
    return () => query.removeEventListener('change', follow);
  }, []);
  return phone;
}

/** Only on phones (wider screens show the full panels side by side, in view together). */
export function Glance({ page }: { page: DashboardPage }) {
  return usePhone() ? <GlancePanel page={page} /> : null;
}

function GlancePanel({ page }: { page: DashboardPage }) {
  const state = useHmiState();
  const t = msg().overview;
  const known = state.alarms.known.value;
  const alarms = overviewAlarms(state.alarms.list.value);
  const unacked = state.alarms.summary.value.unacked;
  return (
    <section class="panel glance" aria-label={t.atAGlance}>
      <h2 class="glance-head">
        <a href="#/alarms">
          {t.activeAlarms} <span class={`count ${unacked > 0 ? 'count-alarm' : ''}`}>{known ? alarms.length : '?'}</span>
          {unacked > 0 && <span class="glance-unacked">{t.glanceUnacked(unacked)}</span>}
        </a>
      </h2>
      {known && alarms.length === 0 && (
        <p class="empty glance-none">
          <span aria-hidden="true">✓ </span>
          {t.noActiveAlarms}
        </p>
      )}
      <ul class="glance-alarms" aria-label={t.firstAlarms}>
        {alarms.slice(0, TOP).map((a) => (
          <li key={a.id} class={`glance-alarm st-${a.state}`} data-alarm={a.id}>
            <a href={sourceHref(state, a)}>
              <PriorityBadge priority={a.priority} tone={priorityTone(a)} />
              <span class="glance-msg">{a.message}</span>
              <span class="glance-state" title={stateWord(a.state)}>
                <span aria-hidden="true">{STATE_MARK[a.state]}</span>
                <span class="visually-hidden">{stateWord(a.state)}</span>
              </span>
            </a>
          </li>
        ))}
        {alarms.length > TOP && (
          <li class="glance-more">
            <a href="#/alarms">{t.moreInSummary(alarms.length - TOP)}</a>
          </li>
        )}
      </ul>
      {page.bars.length > 0 && (
        <ul class="glance-readings" aria-label={t.keyMeasurements}>
          {page.bars.slice(0, TOP).map((b) => (
            <Reading key={b.tag} b={b} />
          ))}
        </ul>
      )}
      {page.phases && <CurrentStepOf phases={page.phases} />}
    </section>
  );
}
