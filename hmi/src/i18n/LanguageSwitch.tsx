/** The language switch in the top bar: Español | English, the chosen one pressed; remembered in this browser. */
import { LOCALES, locale, msg, setLocale } from './locale.js';

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
          onClick={() => void setLocale(l)}
        >
          {t.short[l]}
        </button>
      ))}
    </span>
  );
}
