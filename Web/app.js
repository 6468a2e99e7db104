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
import { whenText, shortWhenText, rangeText, group, localRfc3339, localInputs } from '/lib/booking.js';
import { bindInvitations, openInvitation, closeInvitation, invitationFor, rememberLink, setEmailEnabled } from '/lib/invitations.js';
import { bindStats } from '/lib/stats.js';

/**
 * @typedef {object} Summary
 * @property {string} id
 * @property {string | null} title
 * @property {'active' | 'ended' | 'expired'} status
 * @property {string} expiresAt
 * @property {number} waiting
 * @property {number} inCall
 * @property {string} route  the route key for `/ws?r=` (several instances behind a load balancer)
 * @property {string | null} [startsAt]  the booked time (RFC 3339), if any
 * @property {number | null} [minutes]  its expected length
 * @property {string | null} [opensAt]  when the lobby opens for the booked time
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

/** The latest listing, by id (the booking and invitation panels read it). */
/** @type {Map<string, Summary>} */
const summaries = new Map();

/** @param {{username: string, role: string, invitations?: {email?: boolean}}} me */
async function enterList(me) {
  if (me.role === 'leder') {
    // The leder's page is the figures.
    location.assign('/leder/');
    return;
  }
  $('#me').textContent = me.username;
  username = me.username;
  if (me.role !== 'veileder') {
    announce(t('veileder.notVeileder'));
  }
  setEmailEnabled(me.invitations?.email === true);
  $('#stats-open').hidden = me.role !== 'veileder';
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
  showListing(consultations);
}

/**
 * The overview by time: «I dag» and «Kommende» by their booked time, then
 * those without a time (with no booked ones, one plain list as before),
 * then those booked earlier.
 * @param {Summary[]} consultations
 */
function showListing(consultations) {
  summaries.clear();
  for (const c of consultations) summaries.set(c.id, c);
  const now = new Date();
  /** @type {Record<'today' | 'upcoming' | 'others' | 'earlier', Summary[]>} */
  const groups = { today: [], upcoming: [], others: [], earlier: [] };
  for (const c of consultations) groups[group(c, now)].push(c);
  const byTime = (/** @type {Summary} */ a, /** @type {Summary} */ b) => String(a.startsAt).localeCompare(String(b.startsAt));
  groups.today.sort(byTime);
  groups.upcoming.sort(byTime);
  groups.earlier.sort(byTime).reverse();
  const lists = { today: $('#today'), upcoming: $('#upcoming'), others: $('#consultations'), earlier: $('#earlier') };
  for (const [name, list] of Object.entries(lists)) {
    list.replaceChildren(...groups[/** @type {keyof typeof groups} */ (name)].map((c) => consultationItem(c, now)));
  }
  $('#today-part').hidden = groups.today.length === 0;
  $('#upcoming-part').hidden = groups.upcoming.length === 0;
  $('#earlier-part').hidden = groups.earlier.length === 0;
  const anyBooked = groups.today.length + groups.upcoming.length + groups.earlier.length > 0;
  $('#others-heading').hidden = !anyBooked || groups.others.length === 0;
  $('#no-consultations').hidden = consultations.length > 0;
  for (const c of consultations) {
    if (c.status === 'active' && c.waiting > (waitingBefore.get(c.id) ?? 0)) alerts.knock(c.id);
    waitingBefore.set(c.id, c.waiting);
  }
  // The invitation panel follows a changed or removed time.
  const open = invitationFor();
  if (open) {
    const c = summaries.get(open);
    if (c?.startsAt && c.status === 'active') openInvitation(c, { focus: false });
    else closeInvitation();
  }
}

/**
 * One consultation in the overview: title, state, its time and length (if
 * booked), and what can be done with it.
 * @param {Summary} c
 * @param {Date} now
 */
function consultationItem(c, now) {
  const item = document.createElement('li');
  item.className = c.waiting > 0 ? 'consultation waiting' : 'consultation';
  item.dataset.consultation = c.id;
  const title = document.createElement('strong');
  title.textContent = c.title || t('veileder.untitled');
  const status = document.createElement('span');
  status.textContent = ` – ${t(`status.${c.status}`)}${c.waiting > 0 ? ` – ${t('veileder.waitingCount', { count: c.waiting })}` : ''}`;
  item.append(title, status, document.createElement('br'));
  if (c.startsAt) {
    const when = document.createElement('time');
    when.className = 'booked';
    when.dateTime = c.startsAt;
    const minutes = c.minutes ?? 30;
    const today = group(c, now) === 'today';
    when.textContent = `${today ? rangeText({ startsAt: c.startsAt, minutes }) : whenText(c.startsAt)} (${t('when.minutes', { minutes })})`;
    item.append(when);
    if (today && c.status === 'active' && c.opensAt && new Date(c.opensAt) > now) {
      const opens = document.createElement('span');
      opens.className = 'opens';
      opens.textContent = ` – ${t('booking.lobbyOpens', { time: shortWhenText(c.opensAt, now) })}`;
      item.append(opens);
    }
    item.append(document.createElement('br'));
  }
  if (c.status === 'active') {
    item.append(button(t('veileder.open'), () => enterRoom(c), c.waiting > 0 ? 'primary' : ''));
    if (c.startsAt) item.append(button(t('invite.open'), () => openInvitation(c), 'invite-open'));
    item.append(
      button(t(c.startsAt ? 'booking.change' : 'booking.set'), () => openBooking(c), 'booking-open'),
      button(t('veileder.newLink'), () => newLink(c)),
      button(t('veileder.endShort'), () => end(c.id), 'danger'));
  }
  return item;
}

/** The consultation whose time is being changed. */
/** @type {Summary | null} */
let editing = null;

/**
 * «Endre tidspunkt» / «Legg til tidspunkt»: the booking panel for one consultation.
 * @param {Summary} c
 */
function openBooking(c) {
  editing = c;
  $('#booking-heading').textContent = t('booking.heading', { title: c.title || t('veileder.untitled') });
  const date = /** @type {HTMLInputElement} */ ($('#edit-date'));
  const time = /** @type {HTMLInputElement} */ ($('#edit-time'));
  const minutes = /** @type {HTMLInputElement} */ ($('#edit-minutes'));
  if (c.startsAt) {
    const inputs = localInputs(c.startsAt);
    date.value = inputs.date;
    time.value = inputs.time;
  } else {
    date.value = '';
    time.value = '';
  }
  minutes.value = String(c.minutes ?? 30);
  $('#booking-remove').hidden = !c.startsAt;
  $('#booking-problem').hidden = true;
  $('#booking-panel').hidden = false;
  date.focus();
}

function closeBooking() {
  const id = editing?.id;
  editing = null;
  $('#booking-panel').hidden = true;
  const back = id ? document.querySelector(`li[data-consultation="${CSS.escape(id)}"] .booking-open`) : null;
  if (back instanceof HTMLElement) back.focus();
}

/**
 * The booked time from a date, a time and a length field, checked here
 * first; null (and the problem said) when it is not right.
 * @param {string} date
 * @param {string} time
 * @param {string} minutes
 * @param {HTMLElement} problem
 * @param {boolean} optional  both empty means no time
 * @returns {{startsAt: string, minutes: number} | null | undefined}  undefined: none given
 */
function bookingFrom(date, time, minutes, problem, optional) {
  problem.hidden = true;
  if (optional && !date && !time) return undefined;
  const startsAt = localRfc3339(date, time);
  const length = Number(minutes || 30);
  const wrong = !startsAt ? 'booking.needBoth'
    : (!Number.isInteger(length) || length < 5 || length > 240) ? 'booking.badMinutes' : null;
  if (wrong || !startsAt) {
    say(problem, wrong ?? 'booking.needBoth');
    problem.hidden = false;
    announce(problem.textContent ?? '');
    return null;
  }
  return { startsAt, minutes: length };
}

$('#booking-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!editing) return;
  const problem = $('#booking-problem');
  const booking = bookingFrom(/** @type {HTMLInputElement} */ ($('#edit-date')).value, /** @type {HTMLInputElement} */ ($('#edit-time')).value,
    /** @type {HTMLInputElement} */ ($('#edit-minutes')).value, problem, false);
  if (!booking) return;
  try {
    const summary = await api(`/api/consultations/${encodeURIComponent(editing.id)}/booking`, { method: 'PUT', body: JSON.stringify(booking) });
    announce(t('booking.saved', { when: whenText(summary?.startsAt ?? booking.startsAt) }));
    closeBooking();
    await refresh();
  } catch (error) {
    say(problem, 'booking.badTime');
    problem.hidden = false;
    announce(problem.textContent ?? '');
  }
});
$('#booking-remove').addEventListener('click', async () => {
  if (!editing) return;
  try {
    await api(`/api/consultations/${encodeURIComponent(editing.id)}/booking`, { method: 'DELETE' });
    announce(t('booking.removed'));
    closeBooking();
    await refresh();
  } catch (error) {
    const problem = $('#booking-problem');
    problem.textContent = t('invite.error.other', { reason: /** @type {Error} */ (error).message });
    problem.hidden = false;
  }
});
$('#booking-close').addEventListener('click', closeBooking);

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

/**
 * @param {string} url
 * @param {{focus?: boolean, message?: string}} options
 */
function showLink(url, { focus = true, message = t('veileder.created') } = {}) {
  $('#new-link').hidden = false;
  const input = /** @type {HTMLInputElement} */ ($('#join-url'));
  input.value = url;
  if (focus) {
    input.focus();
    input.select();
  }
  announce(message);
}

/** @param {Summary} c */
async function newLink(c) {
  const created = await api(`/api/consultations/${c.id}/link`, { method: 'POST' });
  rememberLink(c.id, created.joinUrl);
  showLink(created.joinUrl);
  if (invitationFor() === c.id) openInvitation(c, { focus: false });
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
  reportCallMedia(current);
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

/** A change of video in the call is told once it has held this long (a camera switched off and on again is no change). */
const CALL_MEDIA_SETTLE_MS = 2000;

/**
 * Tells the server, as the consultation's veileder, whether video is used in
 * the call now (anyone's camera, or a shared screen): `call-media`, only when
 * that changes and has settled, and again after a reconnect. Nothing else of
 * the call goes with it; the server counts it for the anonymous figures.
 * @param {{client: SignallingClient, grid: CallGrid}} current
 */
function reportCallMedia(current) {
  /** @type {boolean | null} */
  let sent = null;
  /** @type {boolean | null} */
  let seen = null;
  let since = 0;
  current.client.addEventListener('reconnected', () => { sent = null; });
  const timer = setInterval(() => {
    if (room !== current) {
      clearInterval(timer);
      return;
    }
    if (current.client.welcome?.you.role !== 'veileder' || !current.grid) return;
    const video = current.grid.videoInCall();
    if (video !== seen) {
      seen = video;
      since = Date.now();
      return;
    }
    if (video === null || video === sent || !current.client.connected || Date.now() - since < CALL_MEDIA_SETTLE_MS) return;
    current.client.callMedia(video);
    sent = video;
    // For the tests: what was told last (no personal data).
    document.body.dataset.callMedia = String(video);
  }, 500);
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
  const problem = $('#create-problem');
  const booking = bookingFrom(/** @type {HTMLInputElement} */ ($('#booking-date')).value,
    /** @type {HTMLInputElement} */ ($('#booking-time')).value, /** @type {HTMLInputElement} */ ($('#booking-minutes')).value, problem, true);
  if (booking === null) {
    $('#booking-date').focus();
    return;
  }
  let created;
  try {
    created = await api('/api/consultations', {
      method: 'POST', body: JSON.stringify({ title: title || undefined, validForDays: days, ...(booking ?? {}) }),
    });
  } catch (error) {
    say(problem, booking ? 'booking.badTime' : 'problem.other');
    problem.hidden = false;
    announce(problem.textContent ?? '');
    return;
  }
  if (created.id) rememberLink(created.id, created.joinUrl);
  showLink(created.joinUrl, booking ? { message: t('booking.createdAt', { when: whenText(booking.startsAt) }) } : {});
  for (const id of ['#title', '#booking-date', '#booking-time']) /** @type {HTMLInputElement} */ ($(id)).value = '';
  /** @type {HTMLInputElement} */ ($('#booking-minutes')).value = '30';
  await refresh();
  // Booked: everything to invite with is at hand now, the link included.
  const summary = created.id ? summaries.get(created.id) : undefined;
  if (booking && summary) {
    openInvitation(summary, { focus: false });
  }
});
bindInvitations(async (id) => {
  const c = summaries.get(id);
  if (!c) return null;
  const created = await api(`/api/consultations/${encodeURIComponent(id)}/link`, { method: 'POST' });
  rememberLink(id, created.joinUrl);
  showLink(created.joinUrl, { focus: false, message: t('veileder.invited') });
  return created.joinUrl;
});
const stats = bindStats(/** @type {HTMLElement} */ (document.querySelector('[data-stats]')), { explain: false });
$('#stats-open').addEventListener('click', () => {
  clearInterval(refresher);
  show('stats');
  stats.load();
});
$('#stats-back').addEventListener('click', async () => {
  show('list');
  await refresh();
  clearInterval(refresher);
  refresher = setInterval(refresh, 5000);
  $('#stats-open').focus();
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
