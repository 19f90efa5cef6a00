/** One line on the historian: how much it holds, since when, and how long each resolution is kept. */
import { useEffect, useState } from 'preact/hooks';
import { historyApi } from '../shared/api.js';
import { useHmiState } from '../shared/context.js';
import { formatDateTimeZoned } from '../shared/format.js';
import type { HistorianStatus } from './history-api.js';
import { historianText } from './trend-model.js';
import { msg } from '../i18n/locale.js';

export function HistorianLine() {
  const state = useHmiState();
  const [status, setStatus] = useState<HistorianStatus | null | string>(null);
  useEffect(() => {
    let current = true;
    void historyApi.status().then((r) => {
      if (current) setStatus(r.kind === 'ok' ? r.body : r.kind === 'refused' ? r.error.message : r.message);
    });
    return () => {
      current = false;
    };
  }, []);
  if (status === null) return null;
  return (
    <p class="caption historian-line" data-testid="historian-status">
      {typeof status === 'string' ? msg().exports.noFigures(status) : historianText(status, (t) => formatDateTimeZoned(t, state.timeZone))}
    </p>
  );
}
