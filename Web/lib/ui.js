// @ts-check
import { t, has, locale } from './i18n.js';

/**
 * The few DOM helpers the pages share. Views are <section data-view="…">
 * elements; exactly one is shown. Announcements go to the page's polite
 * live region, so screen readers hear every change of state. The login form
 * and its second step are in lib/identity.js.
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
 * @param {{ supersedes?: boolean }} [options] supersedes: a new state of the
 *   same thing, which replaces the line rather than joining it
 */
export function announce(text, options = {}) {
  const supersedes = options.supersedes ?? false;
  const region = document.getElementById('status');
  if (!region) return;
  // Two things at once (someone joins, and a new call code follows) are both said:
  // a polite region that changes twice in a moment may only be read the second time.
  // A new state of the same thing (other figures shown) replaces the old one instead.
  const now = Date.now();
  const recent = !supersedes && now - Number(region.dataset.at ?? 0) < TOGETHER_MS && region.textContent;
  // The same thing said twice in a moment is said once.
  if (!(recent && region.textContent?.endsWith(text))) region.textContent = recent ? `${region.textContent} ${text}` : text;
  region.dataset.at = String(now);
}

/** Announcements closer together than this are said together. */
const TOGETHER_MS = 1000;

/**
 * @param {HTMLVideoElement} video
 * @param {MediaStream | null} stream
 */
export function attach(video, stream) {
  video.srcObject = stream;
  if (stream) video.play().catch(() => {});
}

/**
 * Whether a stream's camera is on (there is one, and it is not switched off).
 * @param {MediaStream | null | undefined} stream
 */
export function cameraOn(stream) {
  return (stream?.getVideoTracks() ?? []).some((track) => track.enabled);
}

/**
 * Whether a stream's microphone is on.
 * @param {MediaStream | null | undefined} stream
 */
export function microphoneOn(stream) {
  return (stream?.getAudioTracks() ?? []).some((track) => track.enabled);
}

/**
 * Shows the text of `key` in an element and keeps it there across a change
 * of language (lib/page.js translates every `data-i18n` element).
 * @param {HTMLElement} element
 * @param {string} key
 */
export function say(element, key) {
  element.dataset.i18n = key;
  element.textContent = t(key);
}

/**
 * A press-to-toggle button for the microphone or camera: flips the tracks,
 * `aria-pressed` and the label.
 * @param {Event} event
 * @param {MediaStreamTrack[] | undefined} tracks
 * @param {string} offKey  the label's key while the tracks are off
 * @param {string} onKey   while they are on
 */
export function toggleTracks(event, tracks, offKey, onKey) {
  const target = /** @type {HTMLButtonElement} */ (event.currentTarget);
  const off = target.getAttribute('aria-pressed') !== 'true';
  for (const track of tracks ?? []) track.enabled = !off;
  target.setAttribute('aria-pressed', String(off));
  say(target, off ? offKey : onKey);
}

/**
 * How a message's sender is named: "Du", or their role ("Veilederen"), with
 * the display name they sent sealed, if any.
 * @param {{mine: boolean, role?: string, name?: string}} detail
 */
function sender({ mine, role, name }) {
  return mine ? t('chat.you') : nameInSentence({ role, name });
}

/**
 * Someone named as the subject of a sentence, as the chat names its authors
 * and the live region whoever joins or switches their camera: "Tolken",
 * "Deltakeren (Siri)".
 * @param {{role?: string, name?: string}} person
 */
export function nameInSentence({ role, name }) {
  const who = has(`chat.from.${role}`) ? t(`chat.from.${role}`) : t('chat.from.other');
  return name ? `${who} (${name})` : who;
}

/**
 * Shows a chat session in the page's chat panel (#messages, #chat-form).
 * @param {import('./chat.js').ChatSession} session
 */
export function bindChat(session) {
  const list = $('#messages');
  session.addEventListener('message', (event) => {
    const detail = /** @type {CustomEvent} */ (event).detail;
    const item = document.createElement('li');
    item.className = detail.mine ? 'mine' : 'theirs';
    const who = document.createElement('span');
    who.className = 'who';
    const time = new Date(detail.sentAt);
    who.textContent = `${sender(detail)}, ${Number.isNaN(time.getTime()) ? '' : time.toLocaleTimeString(locale(), { hour: '2-digit', minute: '2-digit' })}: `;
    const body = document.createElement('span');
    body.textContent = detail.text;
    item.append(who, body);
    list.append(item);
  });
  session.addEventListener('failure', (event) => announce(/** @type {CustomEvent} */ (event).detail));
  // Assigned, not added: a page that opens several rooms binds only the current session.
  /** @type {HTMLFormElement} */ ($('#chat-form')).onsubmit = (event) => {
    event.preventDefault();
    const input = /** @type {HTMLInputElement} */ ($('#chat-input'));
    const text = input.value.trim();
    if (!text) return;
    try {
      session.send(text);
      input.value = '';
    } catch {
      announce(t('chat.notReady'));
    }
  };
}

/**
 * Shows the call code everyone reads aloud (#safety-code) with a button to
 * say it was read aloud and is the same for everyone (#code-confirm, "Koden
 * stemmer"), or, for a key set checked on this device before, that it is
 * (#code-verified, "Kontrollert"); a warning instead of the code when a
 * reveal did not match (#code-warning); and a warning naming whose key
 * changed (#key-warning), saying plainly that the code must be checked again
 * when it had been. "Kontrollert" is this device's view of the keys: the
 * code stays shown, so that anyone who has not checked it can still compare.
 * @param {import('./room.js').SecureRoom} room
 */
export function bindCallCode(room) {
  const code = $('#safety-code');
  const confirm = /** @type {HTMLButtonElement} */ ($('#code-confirm'));
  const verified = $('#code-verified');
  const mismatch = $('#code-warning');
  const keyWarning = $('#key-warning');
  /** @type {string | null} the key set (K) of the code shown, while one is */
  let shown = null;
  /** @type {string | null} the key set whose code was last announced (said once, not every round) */
  let announced = null;
  /** @param {boolean} checked */
  const showChecked = (checked) => {
    confirm.hidden = shown === null || checked;
    verified.hidden = shown === null || !checked;
  };
  say(code, 'code.waiting');
  mismatch.hidden = true;
  keyWarning.hidden = true;
  showChecked(false);
  room.addEventListener('code', (event) => {
    const detail = /** @type {CustomEvent<import('./room.js').CodeShown>} */ (event).detail;
    delete code.dataset.i18n;
    code.textContent = detail.code;
    shown = detail.keys;
    mismatch.hidden = true;
    showChecked(detail.checked);
    if (detail.checked) {
      // These very keys were checked aloud: a key warning no longer applies.
      keyWarning.hidden = true;
      if (announced !== detail.keys) announce(t('code.alreadyChecked'));
      announced = detail.keys;
    } else if (announced !== detail.keys) {
      // Someone joined, left or changed key: a new code to read aloud, said once.
      announce(t('code.new', { code: detail.code }));
      announced = detail.keys;
    }
  });
  room.addEventListener('code-pending', () => {
    shown = null;
    showChecked(false);
    if (!mismatch.hidden) return;  // the warning stays until a new round succeeds
    say(code, 'code.waiting');
  });
  room.addEventListener('code-mismatch', () => {
    shown = null;
    showChecked(false);
    say(code, 'code.mismatch');
    mismatch.hidden = false;
    announce(t('code.mismatchHelp'));
  });
  room.addEventListener('code-checked', (event) => {
    // A round that moved on since the press keeps its own button.
    if (/** @type {CustomEvent<{keys: string}>} */ (event).detail.keys !== shown) return;
    const hadFocus = document.activeElement === confirm;
    showChecked(true);
    keyWarning.hidden = true;
    announced = shown;
    // The button goes away under the keyboard: keep the place on what replaced it.
    if (hadFocus) verified.focus();
    announce(t('code.checked'));
  });
  // Assigned, not added: a page that opens several rooms binds only the current one.
  confirm.onclick = () => {
    confirm.disabled = true;
    room.markChecked().finally(() => { confirm.disabled = false; });
  };
  room.addEventListener('key-changed', (event) => {
    const { role, checkedBefore } = /** @type {CustomEvent<import('./room.js').KeyChange>} */ (event).detail;
    const who = has(`code.keyChanged.${role}`) ? role : 'other';
    const key = `code.${checkedBefore ? 'recheck' : 'keyChanged'}.${who}`;
    say(keyWarning, key);
    keyWarning.hidden = false;
    announced = null;
    announce(t(key));
  });
}
