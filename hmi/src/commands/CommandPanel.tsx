/**
 * The operators' commands on a dashboard, next to the cycle: one button per
 * command stating its action and target ("Start program 2…", "Stop the
 * cycle…"), a choice for a small parameter (the program, preset to the one
 * the PLC has now), and the outcome under the button that was clicked. All
 * buttons are disabled, with the reason shown, while commands cannot be sent.
 */
import { useState } from 'preact/hooks';
import type { CommandInfo } from '../../../src/web/protocol.js';
import { type Params, actionText, choices, onOverview } from './command-model.js';
import { useHmiState } from '../shared/context.js';
import { viewTag } from '../live/tag-view.js';
import { BlockedNotice, ChoiceGroup } from './CommandControls.js';
import { CommandStatus } from './CommandStatus.js';
import { roleRefusal, session } from '../session/session.js';
import { NeedsRole } from '../session/NeedsRole.js';
import { msg } from '../i18n/locale.js';

function CommandRow({ def, blocked, noticeId }: { def: CommandInfo; blocked: string | null; noticeId: string }) {
  const state = useHmiState();
  const [chosen, setChosen] = useState<Params>({});
  const source = `overview:${def.name}`;
  const names = Object.keys(def.params);
  const params: Params = {};
  for (const n of names) {
    const info = def.params[n]!;
    const now = info.tag ? viewTag(state, info.tag).live.value : undefined;
    const preset = typeof now === 'number' && (choices(info) ?? []).includes(now) ? now : undefined;
    const v = chosen[n] ?? preset;
    if (v !== undefined) params[n] = v;
  }
  const missing = names.filter((n) => params[n] === undefined);
  const text = actionText(def, params);
  const descId = `cmd-desc-${def.name}`;
  return (
    <li class="cmd-row" data-command={def.name}>
      {names.map((n) => (
        <ChoiceGroup
          key={n}
          name={`${source}:${n}`}
          info={def.params[n]!}
          value={params[n] as number | undefined}
          onChange={(v) => setChosen((c) => ({ ...c, [n]: v }))}
        />
      ))}
      <button
        type="button"
        class="cmd-button cmd-action"
        disabled={Boolean(blocked) || missing.length > 0}
        aria-describedby={`${descId}${blocked ? ` ${noticeId}` : ''}`}
        title={blocked ?? undefined}
        onClick={() => state.commands.begin(source, def, params)}
      >
        {text}…
        {roleRefusal(session.value, def.role) && <NeedsRole role={def.role} />}
      </button>
      <p class="cmd-desc caption" id={descId}>
        {missing.length > 0 ? msg().commands.chooseFirst(missing.map((n) => def.params[n]!.label.toLowerCase())) : ''}
        {def.description}
      </p>
      <CommandStatus source={source} />
    </li>
  );
}

export function CommandPanel({ device }: { device?: string }) {
  const state = useHmiState();
  const defs = state.commands.definitions.value;
  const t = msg().commands;
  if (defs.status !== 'ready') {
    return (
      <section class="panel dash-commands" aria-labelledby="h-commands">
        <h2 id="h-commands">{t.title}</h2>
        <p class="empty">{defs.status === 'loading' ? t.loading : t.unavailable(defs.message)}</p>
      </section>
    );
  }
  const list = defs.list.filter((c) => onOverview(c) && (!device || c.device === device));
  if (list.length === 0) return null;
  const reasons = list.map((c) => state.commands.blocker(c));
  const unique = [...new Set(reasons.filter((r): r is string => r !== null))];
  const noticeId = 'cmd-blocked-overview';
  return (
    <section class="panel dash-commands" aria-labelledby="h-commands">
      <h2 id="h-commands">{t.title}</h2>
      <BlockedNotice id={noticeId} reasons={unique} />
      <ul class="cmd-list">
        {list.map((c, i) => (
          <CommandRow key={c.name} def={c} blocked={reasons[i]!} noticeId={noticeId} />
        ))}
      </ul>
    </section>
  );
}
