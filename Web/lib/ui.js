// @ts-check
/**
 * The few DOM helpers the pages share. Views are <section data-view="…">
 * elements; exactly one is shown. Announcements go to the page's polite
 * live region, so screen readers hear every change of state.
 */

/**
 * @param {string} selector
 * @returns {HTMLElement}
 */
export function $(selector) {
  const element = document.querySelector(selector);
  if (!(element instanceof HTMLElement)) throw new Error(`missing element ${selector}`);
  return element;
}

/**
 * Shows one view, hides the others, moves focus to its heading.
 * @param {string} name
 */
export function show(name) {
  for (const view of document.querySelectorAll('[data-view]')) {
    if (view instanceof HTMLElement) view.hidden = view.dataset.view !== name;
  }
  const heading = document.querySelector(`[data-view="${name}"] h1, [data-view="${name}"] h2`);
  if (heading instanceof HTMLElement) {
    heading.tabIndex = -1;
    heading.focus();
  }
  document.body.dataset.state = name;
}

/**
 * Says something to screen-reader users (and shows it in the status line).
 * @param {string} text
 */
export function announce(text) {
  const region = document.getElementById('status');
  if (region) region.textContent = text;
}

/**
 * @param {HTMLVideoElement} video
 * @param {MediaStream | null} stream
 */
export function attach(video, stream) {
  video.srcObject = stream;
  if (stream) video.play().catch(() => {});
}

/**
 * A press-to-toggle button for the microphone or camera: flips the tracks,
 * `aria-pressed` and the label.
 * @param {Event} event
 * @param {MediaStreamTrack[] | undefined} tracks
 * @param {string} offLabel  shown while the tracks are off
 * @param {string} onLabel   shown while they are on
 */
export function toggleTracks(event, tracks, offLabel, onLabel) {
  const target = /** @type {HTMLButtonElement} */ (event.currentTarget);
  const off = target.getAttribute('aria-pressed') !== 'true';
  for (const track of tracks ?? []) track.enabled = !off;
  target.setAttribute('aria-pressed', String(off));
  target.textContent = off ? offLabel : onLabel;
}
