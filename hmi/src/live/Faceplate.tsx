/**
 * A tag's faceplate (level 3): its value and quality with the reason, range
 * and limits, the alarms it raises (their state from the alarm engine), what
 * it is and where it comes from, its writable range and a short trend.
 */
import type { ComponentChildren } from 'preact';
import { sinceOf } from '../alarms/alarm-model.js';
import { PriorityBadge, StateWords, WhoWhy, priorityTone } from '../alarms/AlarmMarks.js';
import { Sparkline } from '../trends/Sparkline.js';
import { QualityMark } from './QualityMark.js';
import { TagValue } from './TagValue.js';
import { useHmiState, useTag } from '../shared/context.js';
import { formatAge, formatDateTimeZoned, formatInUnit, formatNumber } from '../shared/format.js';
import { qualityWord } from './quality-view.js';
import { hrefTag } from '../shared/router.js';
import { limitValue } from './tag-view.js';
import type { HmiState } from './state.js';
import { msg } from '../i18n/locale.js';

/** Limits drawn for this tag on dashboard bars. */
function barLimits(state: HmiState, tag: string): { label: string; limit: string | number }[] {
  const out: { label: string; limit: string | number }[] = [];
  for (const p of state.pages) {
    if (p.kind !== 'dashboard') continue;
    for (const b of p.bars) {
      if (b.tag !== tag) continue;
      if (b.low !== undefined) out.push({ label: msg().faceplate.lowLimit, limit: b.low });
      if (b.high !== undefined) out.push({ label: msg().faceplate.highLimit, limit: b.high });
    }
  }
  return out;
}

/** The alarms this tag raises, with their state now. */
function RelatedAlarms({ tag, ids = '' }: { tag: string; ids?: string }) {
  const state = useHmiState();
  const related = state.alarms.list.value.filter((a) => a.source === tag);
  if (related.length === 0) return null;
  return (
    <section class="panel face-alarms" aria-labelledby={`${ids}h-face-alarms`}>
      <h2 id={`${ids}h-face-alarms`}>
        {msg().faceplate.alarmsOnTag}{' '}
        <a class="h-link" href="#/alarms">
          {msg().faceplate.alarmSummary}
        </a>
      </h2>
      <ul class="alarms">
        {related.map((a) => (
          <li key={a.id} class={`alarm-item st-${a.state}`} data-alarm={a.id}>
            <PriorityBadge priority={a.priority} tone={priorityTone(a)} />
            <span class="alarm-text">{a.message}</span>
            <span class="alarm-meta">
              <StateWords a={a} />
              {sinceOf(a) > 0 && <span class="alarm-time num">since {formatDateTimeZoned(sinceOf(a), state.timeZone)}</span>}
            </span>
            <WhoWhy a={a} />
          </li>
        ))}
      </ul>
    </section>
  );
}

function Row({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="facts-row">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/** A tag's page; `embedded`: inside another page (the mimic's selected item), with ids of its own and no <main>. */
export function Faceplate({ name, embedded = false }: { name: string; embedded?: boolean }) {
  const Root = embedded ? 'section' : 'main';
  const Title = embedded ? 'h2' : 'h1';
  const ids = embedded ? 'fp-' : '';
  const state = useHmiState();
  const v = useTag(name);
  const info = v.info;
  const t = msg().faceplate;
  if (!info) {
    return (
      <Root class="page faceplate" aria-labelledby={`${ids}page-title`}>
        <Title id={`${ids}page-title`}>{t.unknownTag}</Title>
        <p class="empty">
          {t.noSuchTag(name)} <a href="#/tags">{t.allTags}</a>
        </p>
      </Root>
    );
  }
  const now = state.clock.value;
  const limits = barLimits(state, name);
  const w = info.writable;
  return (
    <Root class="page faceplate" aria-labelledby={`${ids}page-title`}>
      <p class="crumbs">
        <a href="#/tags">{msg().nav.tags}</a> › <span class="mono">{name}</span>
      </p>
      <Title id={`${ids}page-title`}>{info.description || name}</Title>
      <div class="face-grid">
        <section class="panel face-value" aria-label={t.valueAndQuality}>
          <TagValue view={v} class="big" />
          <p class={`face-quality q-${v.good ? 'good' : 'unsure'}`}>
            <QualityMark quality={v.quality} reason={v.reason} />
            <strong>{qualityWord(v.quality)}</strong>
            <span class="face-reason" data-testid="quality-reason">
              {' '}
              — {v.reason}
            </span>
            <span class="mono face-code" translate={false}>
              {' '}
              ({v.quality})
            </span>
          </p>
          <p class="caption">
            {v.live.sourceTs ? t.changed(formatDateTimeZoned(v.live.sourceTs, state.timeZone), formatAge(v.live.sourceTs, now)) : t.neverRead}
          </p>
        </section>
        <section class="panel face-trend" aria-labelledby={`${ids}h-trend`}>
          <h2 id={`${ids}h-trend`}>
            {t.trend}{' '}
            <a class="h-link" href={`#/trends?pens=${encodeURIComponent(name)}&last=hour`}>
              {t.fullTrend}
            </a>
          </h2>
          <Sparkline tag={name} info={info} />
        </section>
        <RelatedAlarms tag={name} ids={ids} />
        <section class="panel face-facts" aria-labelledby={`${ids}h-facts`}>
          <h2 id={`${ids}h-facts`}>{t.details}</h2>
          <dl class="facts facts-cols">
            <Row label={t.range}>{info.range ? t.rangeText(formatNumber(info.range[0], info.decimals), formatInUnit(info, info.range[1])) : t.noneConfigured}</Row>
            {limits.map((l) => {
              const lv = limitValue(state, l.limit);
              return (
                <Row key={l.label} label={l.label}>
                  {lv ? formatInUnit(info, lv.value) : '—'}
                  {typeof l.limit === 'string' && (
                    <>
                      {' '}
                      (<a href={hrefTag(l.limit)}>{l.limit}</a>){lv && !lv.good ? ' ?' : ''}
                    </>
                  )}
                </Row>
              );
            })}
            <Row label={t.writable}>
              {w
                ? t.writableText(
                    t.rangeText(w.min !== undefined ? formatInUnit(info, w.min) : '−∞', w.max !== undefined ? formatInUnit(info, w.max) : '+∞'),
                    w.roles.map((r) => msg().roles.name[r] ?? r).join(', '),
                  )
                : t.readOnly}
            </Row>
            <Row label={t.tag}>
              <span class="mono">{name}</span>
            </Row>
            <Row label={t.device}>PLC {info.device}</Row>
            <Row label={t.address}>
              {info.area} {info.address}
            </Row>
            <Row label={t.type}>{info.type}</Row>
            <Row label={t.unitDecimals}>
              {info.unit || t.noUnit}, {info.decimals}
            </Row>
            <Row label={t.scanGroup}>{info.scanGroup}</Row>
            {v.live.exceptionCode !== undefined && <Row label={t.exceptionCode}>{v.live.exceptionCode}</Row>}
          </dl>
        </section>
      </div>
    </Root>
  );
}
