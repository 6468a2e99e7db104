// @ts-check
import { login } from './api.js';
import { t, has, locale } from './i18n.js';

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
  if (video.classList.contains('remote')) {
    const update = () => showWhetherVideo(video);
    update();
    if (stream) {
      stream.onaddtrack = update;
      stream.onremovetrack = update;
    }
  }
}

/**
 * Says in words, over the big picture, when the other side sends no
 * picture, instead of leaving a black box: sound only (no video at all), or
 * a camera they switched off in the call (`data-camera-off`, from `media`).
 * @param {HTMLVideoElement} video
 */
function showWhetherVideo(video) {
  const note = video.parentElement?.querySelector('.no-video');
  if (!(note instanceof HTMLElement)) return;
  const stream = video.srcObject instanceof MediaStream ? video.srcObject : null;
  const soundOnly = !!stream && stream.getVideoTracks().length === 0;
  const cameraOff = !!stream && !soundOnly && video.dataset.cameraOff === 'true';
  note.hidden = !soundOnly && !cameraOff;
  if (!note.hidden) say(note, soundOnly ? 'call.noVideo' : 'call.theirCameraOff');
}

/**
 * What the other side says of their picture (protocol `media`): the note
 * over the big picture follows it, and a change is announced.
 * @param {boolean} off
 * @param {{quietly?: boolean}} options  `quietly`: no announcement (a peer that came back says again); optional
 */
function showTheirCameraOff(off, { quietly = false } = {}) {
  const video = document.getElementById('remote');
  if (!(video instanceof HTMLVideoElement)) return;
  const changed = (video.dataset.cameraOff === 'true') !== off;
  video.dataset.cameraOff = String(off);
  showWhetherVideo(video);
  if (changed && !quietly) announce(t(off ? 'call.theirCameraOff' : 'call.theirCameraOn'));
}

/**
 * Whether a stream has a camera and it is switched off (the camera button).
 * @param {MediaStream | null | undefined} stream
 */
export function cameraSwitchedOff(stream) {
  const cameras = stream?.getVideoTracks() ?? [];
  return cameras.length > 0 && !cameras.some((track) => track.enabled);
}

/**
 * Keeps the other side of the call told when this side's camera is off
 * (a sealed `media` signal), and shows what they say of theirs. A peer that
 * becomes reachable (joins, or comes back) is told again, since the server
 * keeps nothing of it (it cannot even read it).
 * @param {import('./room.js').SecureRoom} room
 * @param {() => boolean} cameraOff  this side has a camera, switched off, and shares no screen
 * @returns {() => void}  to call after the camera was switched, or a screen shared or stopped
 */
export function followPictures(room, cameraOff) {
  room.addEventListener('media', (event) => showTheirCameraOff(!(/** @type {CustomEvent} */ (event).detail.video)));
  room.addEventListener('peer-ready', (event) => {
    showTheirCameraOff(false, { quietly: true });
    if (cameraOff()) room.send(/** @type {CustomEvent} */ (event).detail.participant, { kind: 'media', video: false });
  });
  return () => room.broadcast({ kind: 'media', video: !cameraOff() });
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
  if (mine) return t('chat.you');
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
 * Shows the call code everyone reads aloud (#safety-code), a warning
 * instead when a reveal did not match (#code-warning), and a warning when
 * someone's key changed (#key-warning).
 * @param {import('./room.js').SecureRoom} room
 */
export function bindCallCode(room) {
  const code = $('#safety-code');
  say(code, 'code.waiting');
  $('#code-warning').hidden = true;
  $('#key-warning').hidden = true;
  room.addEventListener('code', (event) => {
    delete code.dataset.i18n;
    code.textContent = /** @type {CustomEvent} */ (event).detail.code;
    $('#code-warning').hidden = true;
  });
  room.addEventListener('code-pending', () => {
    if (!$('#code-warning').hidden) return;  // the warning stays until a new round succeeds
    say(code, 'code.waiting');
  });
  room.addEventListener('code-mismatch', () => {
    say(code, 'code.mismatch');
    $('#code-warning').hidden = false;
    announce(t('code.mismatchHelp'));
  });
  room.addEventListener('key-changed', () => {
    $('#key-warning').hidden = false;
    announce(t('chat.keyChanged'));
  });
}

/**
 * The login form (#login-form, #username, #password, #login-problem) of a page.
 * @param {(me: {id: number, username: string, role: string}) => void} onLoggedIn
 */
export function bindLogin(onLoggedIn) {
  $('#login-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const username = /** @type {HTMLInputElement} */ ($('#username')).value;
    const password = /** @type {HTMLInputElement} */ ($('#password')).value;
    const problem = $('#login-problem');
    try {
      const me = await login(username, password);
      problem.hidden = true;
      onLoggedIn(me);
    } catch (error) {
      problem.hidden = false;
      say(problem, /** @type {any} */ (error).code === 'too-many-attempts' ? 'login.tooMany' : 'login.wrong');
    }
  });
}
