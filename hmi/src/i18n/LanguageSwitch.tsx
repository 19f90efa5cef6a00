/** The language switch in the top bar: Español | English, the chosen one pressed; remembered in this browser. */
import { type Locale, LOCALES, locale, msg, setLocale } from './locale.js';
import { loadConfigTexts } from './plant-texts.js';
import { fetchTexts } from '../shared/api.js';

/** The catalogue and the plant's texts in that language, then the switch. */
const choose = (l: Locale): Promise<void> => loadConfigTexts(l, fetchTexts).then(() => setLocale(l));

export function LanguageSwitch() {
  const current = locale.value;
  const t = msg().lang;
  return (
    <span class="lang-switch" role="group" aria-label={t.label}>
      {LOCALES.map((l) => (
        <button
          key={l}
          type="button"
          class="lang-button"
          lang={l}
          aria-pressed={current === l}
          aria-label={t.name[l]}
          title={t.switchTo(t.name[l])}
          onClick={() => void choose(l)}
        >
          {t.short[l]}
        </button>
      ))}
    </span>
  );
}
