/** Light (default) or dark theme, remembered in this browser. */
import { useState } from 'preact/hooks';
import { msg } from '../i18n/locale.js';

const KEY = 'planta.theme';

export function storedTheme(): 'light' | 'dark' {
  try {
    return localStorage.getItem(KEY) === 'dark' ? 'dark' : 'light';
  } catch {
    return 'light';
  }
}

export function applyTheme(theme: 'light' | 'dark'): void {
  document.documentElement.dataset.theme = theme;
}

export function ThemeToggle() {
  const [theme, setTheme] = useState(storedTheme);
  const toggle = (): void => {
    const next = theme === 'dark' ? 'light' : 'dark';
    setTheme(next);
    applyTheme(next);
    try {
      localStorage.setItem(KEY, next);
    } catch {
      // private mode: the choice lasts for this page only
    }
  };
  return (
    <button type="button" class="theme-toggle" aria-pressed={theme === 'dark'} onClick={toggle} title={msg().theme.help}>
      <span aria-hidden="true">{theme === 'dark' ? '☾' : '☀'}</span>
      <span class="theme-text"> {msg().theme.dark}</span>
    </button>
  );
}
