/** The HMI state handed to every component through Preact context. */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Router } from './router.js';
import type { HmiState } from '../live/state.js';
import type { ReplayController } from '../replay/replay.js';
import { type TagView, viewTag } from '../live/tag-view.js';

export interface Hmi {
  state: HmiState;
  router: Router;
  /** Replay: the recorded plant instead of the live one (absent in unit tests). */
  replay?: ReplayController;
}

export const HmiContext = createContext<Hmi | null>(null);

export function useHmi(): Hmi {
  const hmi = useContext(HmiContext);
  if (!hmi) throw new Error('useHmi outside <HmiContext.Provider>');
  return hmi;
}

export function useHmiState(): HmiState {
  return useHmi().state;
}

/** A tag's view; the calling component re-renders when the tag's value or the link changes. */
export function useTag(name: string): TagView {
  return viewTag(useHmiState(), name);
}
