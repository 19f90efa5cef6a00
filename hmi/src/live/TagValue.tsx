/** A tag's value with unit and fixed decimals, drawn by its quality: greyed and marked when not Good. */
import { formatValue } from '../shared/format.js';
import { qualityClass } from './quality-view.js';
import type { TagView } from './tag-view.js';
import { QualityMark } from './QualityMark.js';

export function TagValue({ view, class: extra = '' }: { view: TagView; class?: string }) {
  return (
    <span class={`tagvalue ${qualityClass(view.quality)} ${extra}`} title={view.good ? undefined : view.reason} data-quality={view.quality}>
      <span class="num">{formatValue(view.info, view.live.value)}</span>
      <QualityMark quality={view.quality} reason={view.reason} />
    </span>
  );
}
