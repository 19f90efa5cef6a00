/** The mimic's words (kept together for the message catalogue). */
export const MIMIC_TEXT = {
  /** The state word written beside an equipment item (its `<text id="ID-state">`). */
  state: {
    running: 'RUN',
    stopped: 'STOP',
    open: 'OPEN',
    closed: 'SHUT',
    alarm: 'ALARM',
    /** An item with only alarm bindings (no run signal in the PLC), none of them active. */
    normal: 'OK',
  },
  /** The accessible name of a bound element (a button that opens its faceplate). */
  button: (name: string, state: string): string => (state ? `${name}: ${state}` : name),
  /** The element's tooltip, last line. */
  opens: (tag: string): string => `Click, Enter or Space: faceplate of ${tag}`,
  faceplate: {
    region: 'Faceplate of the selected item',
    page: 'Open its own page ›',
    close: 'Close',
  },
  zoom: {
    group: 'Drawing size',
    zoomIn: 'Zoom in',
    zoomOut: 'Zoom out',
    fit: 'Fit to width',
    pan: 'Drag or swipe sideways to pan the drawing.',
  },
} as const;
