/**
 * The tag browser (level 4): every tag, grouped by device, filtered by a
 * search over name, description and unit. Each row links to the tag's
 * faceplate. Age is the time since the value or its quality last changed
 * (values are reported by exception).
 */
import { useState } from 'preact/hooks';
import { QualityMark } from './QualityMark.js';
import { TagValue } from './TagValue.js';
import { useHmiState, useTag } from '../shared/context.js';
import { formatAge } from '../shared/format.js';
import { hrefTag } from '../shared/router.js';
import type { TagInfo } from '../../../src/web/protocol.js';
import { msg } from '../i18n/locale.js';

function Row({ tag }: { tag: TagInfo }) {
  const state = useHmiState();
  const v = useTag(tag.name);
  return (
    <tr data-tag={tag.name}>
      <td class="col-name">
        <a href={hrefTag(tag.name)}>{tag.name}</a>
      </td>
      <td class="col-desc">{tag.description}</td>
      <td class="col-value">
        <TagValue view={v} />
      </td>
      <td class="col-quality">
        <QualityMark quality={v.quality} reason={v.reason} withWord />
      </td>
      <td class="col-age num">{formatAge(v.live.sourceTs, state.clock.value)}</td>
    </tr>
  );
}

export function matches(tag: TagInfo, query: string): boolean {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const text = `${tag.name} ${tag.description} ${tag.unit} ${tag.device}`.toLowerCase();
  return words.every((w) => text.includes(w));
}

export function TagBrowser() {
  const state = useHmiState();
  const [query, setQuery] = useState('');
  const shown = state.tagList.filter((t) => matches(t, query));
  const devices = [...new Set(state.tagList.map((t) => t.device))];
  return (
    <main class="page tags" aria-labelledby="page-title">
      <h1 id="page-title">{msg().titles.tags}</h1>
      <div class="search">
        <label for="tag-search">{msg().tagBrowser.search}</label>
        <input
          id="tag-search"
          type="search"
          value={query}
          placeholder={msg().tagBrowser.placeholder}
          autocomplete="off"
          spellcheck={false}
          onInput={(e) => setQuery(e.currentTarget.value)}
        />
        <span class="search-count" role="status">
          {shown.length} of {state.tagList.length} tags
        </span>
      </div>
      {devices.map((device) => {
        const rows = shown.filter((t) => t.device === device);
        if (rows.length === 0) return null;
        const d = state.plant.devices.find((x) => x.name === device);
        return (
          <section class="panel" key={device} aria-labelledby={`dev-${device}`}>
            <h2 id={`dev-${device}`}>
              PLC {device}
              {d?.description ? <span class="h-sub"> — {d.description}</span> : null}
            </h2>
            <table class="tag-table">
              <thead>
                <tr>
                  <th scope="col">{msg().tagBrowser.name}</th>
                  <th scope="col">{msg().tagBrowser.description}</th>
                  <th scope="col">{msg().tagBrowser.value}</th>
                  <th scope="col">{msg().tagBrowser.quality}</th>
                  <th scope="col" title={msg().tagBrowser.ageHelp}>
                    {msg().tagBrowser.age}
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((t) => (
                  <Row key={t.name} tag={t} />
                ))}
              </tbody>
            </table>
          </section>
        );
      })}
      {shown.length === 0 && <p class="empty">{msg().tagBrowser.noMatch(query)}</p>}
    </main>
  );
}
