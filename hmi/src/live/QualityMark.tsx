/** "?" (uncertain) or "✕" (bad) beside a value, with the reason on hover, tap and for screen readers. Nothing for Good. */
import type { Quality } from '../../../src/web/protocol.js';
import { qualityClass, qualityMark, qualityWord } from './quality-view.js';
import { msg } from '../i18n/locale.js';

export function QualityMark({ quality, reason, withWord = false }: { quality: Quality; reason: string; withWord?: boolean }) {
  const mark = qualityMark(quality);
  if (!mark) {
    return withWord ? <span class="qword q-good">{qualityWord(quality)}</span> : null;
  }
  const label = msg().quality.label(qualityWord(quality), reason);
  return (
    <span class={`qmark ${qualityClass(quality)}`} title={label} role="img" aria-label={label}>
      <span aria-hidden="true">{mark}</span>
      {withWord && <span class="qword" aria-hidden="true"> {qualityWord(quality)}</span>}
    </span>
  );
}
