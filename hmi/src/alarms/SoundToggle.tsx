/**
 * "Mute sound": this browser's alarm tone on or off, remembered here. It
 * does not touch the plant: the horn is the PLC's, silenced with the
 * "Silence the horn" command.
 */
import { useHmiState } from '../shared/context.js';
import { msg } from '../i18n/locale.js';

export function SoundToggle() {
  const sound = useHmiState().sound;
  const muted = sound.muted.value;
  return (
    <button type="button" class="theme-toggle sound-toggle" aria-pressed={muted} onClick={() => sound.setMuted(!muted)} title={msg().sound.help}>
      <svg class="sound-icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
        <path d="M3 9h4l5-4v14l-5-4H3z" fill="currentColor" />
        {muted ? (
          <path d="M15 9l6 6M21 9l-6 6" stroke="currentColor" stroke-width="2" fill="none" />
        ) : (
          <path d="M15.5 8.5a5 5 0 0 1 0 7M18 6a8.5 8.5 0 0 1 0 12" stroke="currentColor" stroke-width="2" fill="none" />
        )}
      </svg>
      <span class="theme-text"> {msg().sound.mute}</span>
    </button>
  );
}

/** The sound's state in words, with what muting does and does not do. */
export function SoundNote() {
  const sound = useHmiState().sound;
  const muted = sound.muted.value;
  const audio = sound.audio.value;
  const t = msg().sound;
  const now = muted ? t.muted : audio === 'ready' ? t.ready : audio === 'waiting' ? t.waiting : t.unavailable;
  return (
    <p class="caption sound-note" data-audio={audio} data-muted={muted ? 'true' : 'false'}>
      {now} {t.note}
    </p>
  );
}
