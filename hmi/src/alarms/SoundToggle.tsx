/**
 * "Mute sound": this browser's alarm tone on or off, remembered here. It
 * does not touch the plant: the horn is the PLC's, silenced with the
 * "Silence the horn" command.
 */
import { useHmiState } from '../shared/context.js';

export const SOUND_HELP = 'Mutes the alarm tone in this browser only. The plant horn is the PLC’s: silence it with the “Silence the horn” command on the overview.';

export function SoundToggle() {
  const sound = useHmiState().sound;
  const muted = sound.muted.value;
  return (
    <button type="button" class="theme-toggle sound-toggle" aria-pressed={muted} onClick={() => sound.setMuted(!muted)} title={SOUND_HELP}>
      <svg class="sound-icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
        <path d="M3 9h4l5-4v14l-5-4H3z" fill="currentColor" />
        {muted ? (
          <path d="M15 9l6 6M21 9l-6 6" stroke="currentColor" stroke-width="2" fill="none" />
        ) : (
          <path d="M15.5 8.5a5 5 0 0 1 0 7M18 6a8.5 8.5 0 0 1 0 12" stroke="currentColor" stroke-width="2" fill="none" />
        )}
      </svg>
      <span class="theme-text"> Mute sound</span>
    </button>
  );
}

/** The sound's state in words, with what muting does and does not do. */
export function SoundNote() {
  const sound = useHmiState().sound;
  const muted = sound.muted.value;
  const audio = sound.audio.value;
  const now = muted
    ? 'Sound muted in this browser.'
    : audio === 'ready'
      ? 'Sound on: a short tone for each new alarm, repeated every 10 s while a critical or high alarm is unacknowledged.'
      : audio === 'waiting'
        ? 'Sound on after your first click or key press here (browsers allow sound only then).'
        : 'Sound is not available in this browser.';
  return (
    <p class="caption sound-note" data-audio={audio} data-muted={muted ? 'true' : 'false'}>
      {now} “Mute sound” (top right) mutes only this browser; the plant horn is the PLC’s: silence it with “Silence the horn” on the overview.
    </p>
  );
}
