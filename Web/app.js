// @ts-check
/**
 * The veileder's page: log in, see and create consultations, copy the link,
 * let a waiting deltaker in, talk. The protocol lives in lib/protocol.js and
 * lib/rtc.js; this file only turns it into screens.
 */
import '/lib/page.js';
import { SignallingClient, defaultUrl } from '/lib/protocol.js';
import { SecureRoom, forgetConsultation } from '/lib/room.js';
import { Mesh } from '/lib/mesh.js';
import { CallGrid } from '/lib/grid.js';
import { $, show, announce, toggleTracks, bindChat, bindCallCode, say, cameraOn, microphoneOn } from '/lib/ui.js';
import { bindLogin, bindSecondFactorPage } from '/lib/identity.js';
import { api, logout } from '/lib/api.js';
import { ChatSession } from '/lib/chat.js';
import { t } from '/lib/i18n.js';
import { KnockAlert, askNotificationPermission, notificationsSupported } from '/lib/knock.js';
import { announceReconnects } from '/lib/resilience.js';
import { openMedia } from '/lib/devices.js';

/**
 * @typedef {object} Summary
 * @property {string} id
 * @property {string | null} title
 * @property {'active' | 'ended' | 'expired'} status
 * @property {string} expiresAt
 * @property {number} waiting
 * @property {number} inCall
 * @property {string} route  the route key for `/ws?r=` (several instances behind a load balancer)
 */

/**
 * The open consultation: its signalling, its keys (lib/room.js), the call
 * with everyone in it (lib/mesh.js) and its screen (lib/grid.js).
 * @type {{client: SignallingClient, secure: SecureRoom, mesh: Mesh, grid: CallGrid, stream: MediaStream | null, screen: MediaStream | null, id: string} | null}
 */
let room = null;
/** The consultation whose room is on screen (set at once, before the camera is open). */
let roomId = '';
/** Counts the rooms opened: a room whose camera prompt outlived it (back, or another room) is dropped. */
let opened = 0;
/** The logged-in veileder's username: sent sealed to the others in the call as the display name. */
let username = '';
/** @type {number | undefined} */
let refresher;
/** How many were waiting in each consultation at the last look: a rise is a knock. */
/** @type {Map<string, number>} */
const waitingBefore = new Map();

// A chime and (if allowed) a notification when someone knocks, at most one per
// consultation per 30 s. The counts on <body> are for the tests; they hold no personal data.
const alerts = new KnockAlert({ body: () => t('notify.body') });
document.body.dataset.knockAlerts = '0';
document.body.dataset.knockNotifications = '0';
document.body.dataset.knockSuppressed = '0';
alerts.addEventListener('alert', (event) => {
  document.body.dataset.knockAlerts = String(Number(document.body.dataset.knockAlerts) + 1);
  if (/** @type {CustomEvent} */ (event).detail.notified) {
    document.body.dataset.knockNotifications = String(Number(document.body.dataset.knockNotifications) + 1);
  }
});
alerts.addEventListener('suppressed', () => {
  document.body.dataset.knockSuppressed = String(Number(document.body.dataset.knockSuppressed) + 1);
});

async function start() {
  try {
    const me = await api('/api/me');
    enterList(me);
  } catch {
    show('login');
  }
}

/** @param {{username: string, role: string}} me */
async function enterList(me) {
  $('#me').textContent = me.username;
  username = me.username;
  if (me.role !== 'veileder') {
    announce(t('veileder.notVeileder'));
  }
  showNotifyState();
  show('list');
  await refresh();
  clearInterval(refresher);
  refresher = setInterval(refresh, 5000);
}

async function refresh() {
  /** @type {{consultations: Summary[]}} */
  let listing;
  try {
    // The page asks by itself: not activity, so an unattended page reaches the idle timeout.
    listing = await api('/api/consultations', { headers: { 'X-Samrom-Background': '1' } });
  } catch (error) {
    if (/** @type {any} */ (error).status !== 401) return;
    // In a call, the call goes on; leaving it shows the login.
    if (room) clearInterval(refresher);
    else loggedOutIdle();
    return;
  }
  const { consultations } = listing;
  const list = $('#consultations');
  list.replaceChildren();
  $('#no-consultations').hidden = consultations.length > 0;
  for (const c of consultations) {
    if (c.status === 'active' && c.waiting > (waitingBefore.get(c.id) ?? 0)) alerts.knock(c.id);
    waitingBefore.set(c.id, c.waiting);
  }
  for (const c of consultations) {
    const item = document.createElement('li');
    item.className = c.waiting > 0 ? 'consultation waiting' : 'consultation';
    const title = document.createElement('strong');
    title.textContent = c.title || t('veileder.untitled');
    const status = document.createElement('span');
    status.textContent = ` – ${t(`status.${c.status}`)}${c.waiting > 0 ? ` – ${t('veileder.waitingCount', { count: c.waiting })}` : ''}`;
    item.append(title, status, document.createElement('br'));
    if (c.status === 'active') {
      item.append(
        button(t('veileder.open'), () => enterRoom(c), c.waiting > 0 ? 'primary' : ''),
        button(t('veileder.newLink'), () => newLink(c)),
        button(t('veileder.endShort'), () => end(c.id), 'danger'));
    }
    list.append(item);
  }
}

/**
 * @param {string} label
 * @param {() => void} action
 * @param {string} [className]
 */
function button(label, action, className = '') {
  const element = document.createElement('button');
  element.type = 'button';
  element.textContent = label;
  element.className = className;
  element.addEventListener('click', action);
  return element;
}

/** @param {string} url */
function showLink(url) {
  $('#new-link').hidden = false;
  const input = /** @type {HTMLInputElement} */ ($('#join-url'));
  input.value = url;
  input.focus();
  input.select();
  announce(t('veileder.created'));
}

/** @param {Summary} c */
async function newLink(c) {
  const created = await api(`/api/consultations/${c.id}/link`, { method: 'POST' });
  showLink(created.joinUrl);
}

/** @param {string} id */
async function end(id) {
  if (!confirm(t('veileder.confirmEnd'))) return;
  await api(`/api/consultations/${id}/end`, { method: 'POST' });
  announce(t('veileder.ended'));
  await refresh();
}

/** @param {Summary} c */
async function enterRoom(c) {
  clearInterval(refresher);
  closeRoom();
  const opening = ++opened;
  if (c.title) {
    delete $('#room-title').dataset.i18n;
    $('#room-title').textContent = c.title;
  } else {
    say($('#room-title'), 'veileder.untitledRoom');
  }
  $('#lobby').replaceChildren();
  $('#lobby-empty').hidden = false;
  $('#invite-box').hidden = true;
  roomId = c.id;
  show('room');
  /** @type {MediaStream | null} */
  let stream = null;
  // Whatever there is of camera and microphone (a veileder without a webcam still talks).
  const media = await openMedia({ audio: true, video: true });
  stream = media.stream;
  if (media.problem) announce(t('deviceProblem'));
  if (opening !== opened) {
    // Back to the overview (or on to another room) while the browser asked for the camera.
    for (const track of stream?.getTracks() ?? []) track.stop();
    return;
  }
  // The buttons start as the new tracks are: on.
  for (const [id, key] of [['#mute', 'call.mute'], ['#camera', 'call.cameraOff']]) {
    $(id).setAttribute('aria-pressed', 'false');
    say($(id), key);
  }
  const client = new SignallingClient(defaultUrl(c.route));
  const secure = new SecureRoom(client, { profile: () => (username ? { name: username } : null) });
  const mesh = new Mesh(secure, client, { role: 'veileder', stream });
  /** @type {NonNullable<typeof room>} */
  const current = { client, secure, mesh, grid: /** @type {any} */ (null), stream, screen: null, id: c.id };
  current.grid = new CallGrid(secure, mesh, {
    ownPicture: () => current.screen ?? current.stream,
    ownMedia: () => ({ video: !!current.screen || cameraOn(current.stream), audio: microphoneOn(current.stream) }),
    ownName: () => username || null,
  });
  room = current;
  client.addEventListener('knock', (e) => {
    const { participant, role, identified } = /** @type {CustomEvent} */ (e).detail;
    addToLobby(participant, role, identified?.method === 'id-porten' && identified?.level === 'high');
  });
  client.addEventListener('lobby-left', (e) => removeFromLobby(/** @type {CustomEvent} */ (e).detail.participant));
  announceReconnects(client);
  client.addEventListener('lost', async (e) => {
    if (room !== current) return;
    const { code, message } = /** @type {CustomEvent} */ (e).detail;
    if (code !== 'invalid-token' && code !== 'expired') return announce(t('veileder.cannotOpen', { reason: message }));
    // Away longer than the server keeps a place: open the consultation again
    // (each call is recovered once that person is reachable again).
    try {
      await client.connect({ consultation: c.id });
    } catch (error) {
      announce(t('veileder.cannotOpen', { reason: /** @type {Error} */ (error).message }));
    }
  });
  client.addEventListener('ended', () => {
    // The consultation is over: this device's keys for it go too.
    forgetConsultation(c.id).finally(() => leaveRoom());
  });
  $('#messages').replaceChildren();
  bindCallCode(secure);
  const chat = new ChatSession(secure);
  bindChat(chat);
  try {
    // `admitted` follows at once: the key goes out, the roster and everyone's keys come back.
    await client.connect({ consultation: c.id });
    await chat.start();
  } catch (error) {
    announce(t('veileder.cannotOpen', { reason: /** @type {Error} */ (error).message }));
  }
}

/**
 * "Inviter deltaker" / "Inviter tolk": a new link for that role (the
 * previous one of the role stops working), shown once to copy.
 * @param {'deltaker' | 'tolk'} role
 */
async function invite(role) {
  if (!roomId) return;
  try {
    const created = await api(`/api/consultations/${roomId}/links`, { method: 'POST', body: JSON.stringify({ role }) });
    say($('#invite-label'), `veileder.inviteLabel.${role}`);
    $('#invite-box').hidden = false;
    const input = /** @type {HTMLInputElement} */ ($('#invite-url'));
    input.value = created.joinUrl;
    input.focus();
    input.select();
    announce(t('veileder.invited'));
  } catch (error) {
    announce(t('veileder.cannotOpen', { reason: /** @type {Error} */ (error).message }));
  }
}

/**
 * How the one waiting was identified (Normen faktaark 54 asks for it at a
 * first consultation): a radio group, none chosen by default (then nothing
 * is recorded); «ID-porten» only when the knock was verified with it, and
 * chosen then.
 * @param {string} participant
 * @param {boolean} identified
 * @returns {{fieldset: HTMLFieldSetElement, chosen: () => string | null}}
 */
function identificationChoice(participant, identified) {
  const fieldset = document.createElement('fieldset');
  fieldset.className = 'identification';
  const legend = document.createElement('legend');
  legend.textContent = t('veileder.identification.legend');
  const help = document.createElement('small');
  help.id = `identification-help-${participant}`;
  help.textContent = t('veileder.identification.help');
  fieldset.setAttribute('aria-describedby', help.id);
  fieldset.append(legend);
  const methods = identified ? ['id-porten', 'known', 'id-document'] : ['known', 'id-document'];
  for (const method of methods) {
    const label = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'radio';
    input.name = `identification-${participant}`;
    input.value = method;
    input.checked = identified && method === 'id-porten';
    label.append(input, ` ${t(`veileder.identification.${method}`)}`);
    fieldset.append(label);
  }
  fieldset.append(help);
  const chosen = () => /** @type {HTMLInputElement | null} */ (fieldset.querySelector('input:checked'))?.value ?? null;
  return { fieldset, chosen };
}

/**
 * @param {string} participant
 * @param {string} role  deltaker or tolk: said in words
 * @param {boolean} [identified]  the knock was verified with ID-porten (high level)
 */
function addToLobby(participant, role, identified = false) {
  // Said again after this page's own reconnect: one entry (and one chime) per person.
  if (document.querySelector(`#lobby li[data-participant="${CSS.escape(participant)}"]`)) return;
  $('#lobby-empty').hidden = true;
  const kind = role === 'tolk' ? 'tolk' : 'deltaker';
  const item = document.createElement('li');
  item.dataset.participant = participant;
  item.dataset.role = kind;
  const choice = identificationChoice(participant, identified);
  item.dataset.identified = String(identified);
  item.append(`${t(`veileder.waiting.${kind}`)} `);
  if (identified) {
    const note = document.createElement('strong');
    note.className = 'identified';
    note.textContent = t('veileder.identified.id-porten');
    item.append(note, ' ');
  }
  item.append(choice.fieldset,
    button(t('veileder.admit'), () => { room?.client.admit(participant, choice.chosen()); removeFromLobby(participant); }, 'primary'),
    button(t('veileder.deny'), () => { room?.client.deny(participant); removeFromLobby(participant); }),
    holdForm(participant));
  $('#lobby').append(item);
  announce(identified ? `${t(`veileder.knock.${kind}`)} ${t('veileder.identified.id-porten')}.` : t(`veileder.knock.${kind}`));
  if (room) alerts.knock(room.id);
}

/**
 * "Put on hold": a short message to the one waiting ("Jeg kommer om fem
 * minutter", or the veileder's own words). The server carries it and keeps
 * it nowhere; it is not in the audit log.
 * @param {string} participant
 */
function holdForm(participant) {
  const form = document.createElement('form');
  form.className = 'hold';
  const id = `hold-${participant}`;
  const label = document.createElement('label');
  label.htmlFor = id;
  label.textContent = t('veileder.hold.label');
  const input = document.createElement('input');
  input.id = id;
  input.name = 'text';
  input.maxLength = 200;
  input.required = true;
  input.value = t('veileder.hold.default');
  const send = document.createElement('button');
  send.type = 'submit';
  send.textContent = t('veileder.hold.send');
  form.append(label, input, send);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || !room) return;
    room.client.hold(participant, text);
    announce(t('veileder.hold.sent'));
  });
  return form;
}

/** @param {string} participant */
function removeFromLobby(participant) {
  document.querySelector(`#lobby li[data-participant="${CSS.escape(participant)}"]`)?.remove();
  $('#lobby-empty').hidden = $('#lobby').children.length > 0;
}

/** Ends this page's part in the open room (its call, keys in memory, camera and microphone). */
function closeRoom() {
  opened += 1;
  if (room) {
    stopSharing();
    room.grid.close();
    room.mesh.close();
    room.client.close();
    room.secure.close();
    for (const track of room.stream?.getTracks() ?? []) track.stop();
    room = null;
  }
  roomId = '';
}

async function leaveRoom() {
  closeRoom();
  let me;
  try {
    me = await api('/api/me');
  } catch {
    // The session ran out (idle or too old) during the call.
    loggedOutIdle();
    return;
  }
  await enterList(me);
}

/** Back to the login form, saying why. */
function loggedOutIdle() {
  clearInterval(refresher);
  const problem = $('#login-problem');
  problem.hidden = false;
  say(problem, 'login.idle');
  show('login');
}

bindLogin((me) => enterList(me));
// "Tofaktor-innlogging" from the header: the overview keeps refreshing behind it.
bindSecondFactorPage($('#second-factor-open'), () => {
  show('list');
  refresh();
});
$('#logout').addEventListener('click', async () => {
  clearInterval(refresher);
  await logout();
  show('login');
});
$('#create-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const title = /** @type {HTMLInputElement} */ ($('#title')).value.trim();
  const days = Number(/** @type {HTMLSelectElement} */ ($('#days')).value);
  const created = await api('/api/consultations', { method: 'POST', body: JSON.stringify({ title: title || undefined, validForDays: days }) });
  showLink(created.joinUrl);
  await refresh();
});
$('#copy-link').addEventListener('click', () => copyLink(/** @type {HTMLInputElement} */ ($('#join-url'))));

/**
 * Copies a link to the clipboard, or selects it for Ctrl+C where the browser does not let us.
 * @param {HTMLInputElement} input
 */
async function copyLink(input) {
  try {
    await navigator.clipboard.writeText(input.value);
    announce(t('veileder.copied'));
  } catch {
    input.select();
    announce(t('veileder.copyByHand'));
  }
}
$('#back').addEventListener('click', () => leaveRoom());
$('#end').addEventListener('click', async () => {
  if (!room || !confirm(t('veileder.confirmEnd'))) return;
  room.client.end();
});
$('#mute').addEventListener('click', (event) => {
  toggleTracks(event, room?.stream?.getAudioTracks(), 'call.unmute', 'call.mute');
  room?.grid.tellMedia();
});
$('#camera').addEventListener('click', (event) => {
  toggleTracks(event, room?.stream?.getVideoTracks(), 'call.cameraOn', 'call.cameraOff');
  room?.grid.tellMedia();
});
$('#invite-deltaker').addEventListener('click', () => invite('deltaker'));
$('#invite-tolk').addEventListener('click', () => invite('tolk'));
$('#copy-invite').addEventListener('click', () => copyLink(/** @type {HTMLInputElement} */ ($('#invite-url'))));

/** Screen sharing: the screen goes out on the camera's sender, and back. */
async function startSharing() {
  const current = room;
  if (!current || current.screen) return;
  /** @type {MediaStream} */
  let screen;
  try {
    screen = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
  } catch {
    announce(t('share.failed'));
    return;
  }
  const track = screen.getVideoTracks()[0];
  track.contentHint = 'detail';
  // The browser's own "Stop sharing" bar ends the track.
  track.addEventListener('ended', () => stopSharing());
  current.screen = screen;
  await current.mesh.sendVideo(track, { screen: true });
  $('#share').setAttribute('aria-pressed', 'true');
  say($('#share'), 'share.stop');
  current.grid.tellMedia();
  announce(t('share.started'));
}

function stopSharing() {
  const current = room;
  if (!current?.screen) return;
  for (const track of current.screen.getTracks()) track.stop();
  current.screen = null;
  current.mesh.sendVideo(current.stream?.getVideoTracks()[0] ?? null, { screen: false });
  $('#share').setAttribute('aria-pressed', 'false');
  say($('#share'), 'share.start');
  current.grid.tellMedia();
  announce(t('share.stopped'));
}

$('#share').addEventListener('click', () => (room?.screen ? stopSharing() : startSharing()));
if (!navigator.mediaDevices?.getDisplayMedia) $('#share').hidden = true;

/** "Varsle meg": asks for notification permission, only ever after this click. */
function showNotifyState() {
  const state = $('#notify-state');
  const permission = notificationsSupported() ? Notification.permission : 'unsupported';
  $('#notify').hidden = permission !== 'default';
  if (permission === 'granted') say(state, 'notify.on');
  else if (permission === 'denied') say(state, 'notify.blocked');
  else if (permission === 'unsupported') say(state, 'notify.unsupported');
  else state.textContent = '';
}
$('#notify').addEventListener('click', async () => {
  await askNotificationPermission();
  showNotifyState();
  const state = $('#notify-state');
  if (!state.textContent) return;
  announce(state.textContent);
  // The button is gone once answered; keep the keyboard where it was.
  state.tabIndex = -1;
  state.focus();
});

// Redraw what this page built itself when the language changes.
document.addEventListener('samrom:language', () => {
  if (document.body.dataset.state === 'list') refresh();
});


start();
