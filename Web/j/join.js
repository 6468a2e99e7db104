// @ts-check
/**
 * The page of a deltaker or a tolk (the link decides the role): welcome with
 * the name to show, device check, lobby, call, done. The link's token is in
 * the URL fragment, which the browser never sends to a server or puts in a
 * Referer; lib/resume.js takes it out of the address bar once read and keeps
 * it in this tab, so that reloading the page still works.
 */
import '/lib/page.js';
import { SignallingClient, SignallingError } from '/lib/protocol.js';
import { SecureRoom, forgetConsultation } from '/lib/room.js';
import { Mesh } from '/lib/mesh.js';
import { CallGrid } from '/lib/grid.js';
import { $, show, announce, toggleTracks, bindChat, bindCallCode, say, cameraOn, microphoneOn } from '/lib/ui.js';
import { ChatSession } from '/lib/chat.js';
import { api } from '/lib/api.js';
import { t, has, locale } from '/lib/i18n.js';
import { openMedia, preferredDevices } from '/lib/devices.js';
import { DeviceCheck } from '/j/devicecheck.js';
import { announceReconnects, atTime } from '/lib/resilience.js';
import { whenText, shortWhenText } from '/lib/booking.js';
import { takeLinkToken, rememberResume, storedResume, forgetResume } from '/lib/resume.js';

/**
 * Logging in with ID-porten before knocking (optional; only when the server
 * has it): the page goes to ID-porten and comes back to `/j/` with
 * `#id-porten-verified` or `#id-porten-error=CODE`, which takes the place of
 * the link's token in the fragment. The join address is kept in this tab's
 * sessionStorage while away and put back (then removed) on return. Nothing is
 * sent by the page: the server's cookie goes with the knock's upgrade.
 */
const ID_PORTEN_KEY = 'samrom.idPorten.return';
/** @type {{verified: true} | {error: string} | null} */
const idPortenResult = (() => {
  const match = /^#id-porten-(?:(verified)|error=([a-z-]+))$/.exec(location.hash);
  if (!match) return null;
  /** @type {string | null} */
  let back = null;
  try {
    back = sessionStorage.getItem(ID_PORTEN_KEY);
    sessionStorage.removeItem(ID_PORTEN_KEY);
  } catch {
    // No storage: the token kept by lib/resume.js (if any) is used.
  }
  // Only an address of this page: the join address as it was, token in its fragment.
  const url = back && back.startsWith('/j/') ? back : location.pathname + location.search;
  history.replaceState(history.state, '', url);
  return match[1] ? { verified: true } : { error: match[2] };
})();

const token = takeLinkToken();

/** @type {MediaStream | null} */
let stream = null;
/** The name the others see (sent to each of them sealed, never to the server); '' for none. */
let displayName = '';
const client = new SignallingClient();
// This device's keys for the consultation, and the name it shows.
const room = new SecureRoom(client, { profile: () => (displayName ? { name: displayName } : null) });
/** @type {Mesh | null} */
let mesh = null;
/** @type {CallGrid | null} */
let grid = null;
const deviceCheck = new DeviceCheck();

/** @param {string} code */
function fail(code) {
  say($('#problem-text'), has(`problem.${code}`) ? `problem.${code}` : 'problem.other');
  show('problem');
}

/** In the call (admitted, or back with the resume token): a drop resumes, it does not knock. */
let admitted = false;
let listening = false;
let chatStarted = false;

function hasVideo() {
  return (stream?.getVideoTracks().length ?? 0) > 0;
}

/** What this page keeps to come back after a reload. */
function remember() {
  if (client.welcome) rememberResume(token, { resume: client.welcome.resume, video: hasVideo(), name: displayName });
}

/**
 * The mesh of connections with everyone in the call and the grid of tiles,
 * once; made before the first roster, which tells the mesh whom to offer to.
 * @param {{resumed: boolean}} options  this page came back into a call already going on
 */
function prepareCall({ resumed }) {
  if (!mesh) {
    mesh = new Mesh(room, client, { role: client.welcome?.you.role ?? 'deltaker', stream, resumed });
    grid = new CallGrid(room, mesh, {
      ownPicture: () => stream,
      ownMedia: () => ({ video: cameraOn(stream), audio: microphoneOn(stream) }),
      ownName: () => displayName || null,
    });
  }
}

/** The call view, once: controls, chat. */
function showCall() {
  if (document.body.dataset.state === 'call') return;
  // Sound only: no camera button.
  $('#camera').hidden = !hasVideo();
  show('call');
  grid?.showOwnPicture();
  if (chatStarted) return;
  chatStarted = true;
  bindCallCode(room);
  const chat = new ChatSession(room);
  bindChat(chat);
  chat.start().catch(() => announce(t('chat.cannotStart')));
}

/** Ends what this page holds of the call. */
function stopCall() {
  grid?.close();
  mesh?.close();
  grid = null;
  mesh = null;
}

/** Out of the call for good: the call, the keys in memory, the camera and microphone. */
function leaveForGood() {
  forgetResume();
  stopCall();
  room.close();
  for (const track of stream?.getTracks() ?? []) track.stop();
  stream = null;
}

function listen() {
  if (listening) return;
  listening = true;
  announceReconnects(client);
  // In the call, the page comes back with the latest resume token; one still in the lobby knocks again.
  client.reconnectWith = () => (admitted && client.welcome ? { resume: client.welcome.resume } : { token });
  client.addEventListener('welcome', () => { if (admitted) remember(); });
  client.addEventListener('hold', showHold);
  client.addEventListener('admitted', () => {
    if (admitted) return;  // back with the resume token (or fresh TURN credentials): nothing new to say
    admitted = true;
    remember();
    announce(t('lobby.admitted'));
    prepareCall({ resumed: false });
    showCall();
  });
  client.addEventListener('denied', () => fail('ended'));
  client.addEventListener('ended', () => {
    const consultation = client.welcome?.consultation.id;
    leaveForGood();
    show('done');
    // The consultation is over: this device's keys for it go too.
    if (consultation) forgetConsultation(consultation).then(() => { document.body.dataset.keysForgotten = 'true'; });
  });
  client.addEventListener('lost', async (event) => {
    const { code } = /** @type {CustomEvent} */ (event).detail;
    forgetResume();
    if (!admitted && code === 'too-early') {
      // Knocking again from the lobby after its time was moved later.
      tooEarly(/** @type {CustomEvent} */ (event).detail);
      return;
    }
    if (admitted && (code === 'invalid-token' || code === 'expired')) {
      // Away longer than the server keeps a place: knock again.
      admitted = false;
      stopCall();
      await knock();
    } else {
      leaveForGood();
      fail(code);
    }
  });
  // This seat was taken over by another tab (a duplicated tab carries the same resume token): this one stops.
  client.addEventListener('error', (event) => {
    if (/** @type {CustomEvent} */ (event).detail.code !== 'session-replaced') return;
    leaveForGood();
    fail('session-replaced');
  });
}

async function join() {
  displayName = /** @type {HTMLInputElement} */ ($('#display-name')).value.trim().slice(0, 40);
  listen();
  await knock();
}

/**
 * The veileder's message while this page waits in the lobby: shown, and read out.
 * @param {Event} event
 */
function showHold(event) {
  const text = String(/** @type {CustomEvent} */ (event).detail.text ?? '');
  const message = /** @type {HTMLElement} */ (document.getElementById('hold-message'));
  message.textContent = t('lobby.hold', { text });
  message.hidden = false;
  announce(message.textContent);
}

/**
 * A booked consultation: when it starts and when its lobby opens, as the
 * server said (`too-early`, or the welcome's `booking`). Kept to say it again
 * in another language.
 * @type {{startsAt: string, opensAt?: string} | null}
 */
let booked = null;
/** Cancels the knock planned for when the lobby opens. */
/** @type {(() => void) | null} */
let plannedKnock = null;
/** Too-early answers since the last welcome (said on <body> for the tests). */
let earlyAgain = 0;
/** Knocks planned after the opening time by this clock that were still too early: this device's clock is ahead of the server's. */
let lateTries = 0;
/** The camera was in use before waiting: it is opened again for the knock. */
let wantVideo = true;

/** Shows when the booked consultation starts and when the lobby opens. */
function showTooEarly() {
  if (!booked) return;
  $('#too-early-starts').textContent = t('tooEarly.starts', { when: whenText(booked.startsAt) });
  $('#too-early-opens').textContent = booked.opensAt ? t('tooEarly.opens', { when: shortWhenText(booked.opensAt) }) : '';
  const starts = $('#lobby-starts');
  starts.textContent = t('lobby.startsAt', { when: whenText(booked.startsAt) });
}

/**
 * The lobby is not open yet: say when the consultation starts, offer the
 * device check, and knock by itself when the lobby opens (a little after,
 * at random), or at «Prøv igjen». The camera and microphone are let go
 * while waiting.
 * @param {Record<string, unknown>} detail  the server's `too-early` error: `startsAt`, `opensAt`
 */
function tooEarly(detail) {
  const startsAt = typeof detail.startsAt === 'string' ? detail.startsAt : '';
  const opensAt = typeof detail.opensAt === 'string' ? detail.opensAt : '';
  if (!startsAt || Number.isNaN(new Date(startsAt).getTime())) {
    fail('other');
    return;
  }
  wantVideo = hasVideo() || !stream;
  for (const track of stream?.getTracks() ?? []) track.stop();
  stream = null;
  const first = earlyAgain === 0;
  booked = { startsAt, opensAt: opensAt || undefined };
  showTooEarly();
  show('too-early');
  document.body.dataset.tooEarly = String(++earlyAgain);
  announce(first ? `${$('#too-early-starts').textContent} ${$('#too-early-opens').textContent}` : t('tooEarly.stillEarly'));
  plannedKnock?.();
  // At the opening time by this device's clock; if the server still says it
  // is too early (this clock is behind), again after a while, less often each time.
  const opens = new Date(opensAt || startsAt);
  const ahead = opens.getTime() <= Date.now();
  lateTries = ahead ? lateTries + 1 : 0;
  const when = ahead ? new Date(Date.now() + Math.min(60_000, 5000 * 2 ** Math.min(lateTries - 1, 4))) : opens;
  plannedKnock = atTime(when, () => {
    plannedKnock = null;
    // Not while checking camera and microphone: joining from there knocks.
    if (document.body.dataset.state === 'too-early') knockAgain();
  });
}

/** Knocks again after waiting, with the devices as they were. */
async function knockAgain() {
  plannedKnock?.();
  plannedKnock = null;
  if (!stream) stream = (await openMedia(preferredDevices(wantVideo))).stream;
  await knock();
}

/** Into the lobby: say hello with the link's token and wait to be let in. */
async function knock() {
  plannedKnock?.();
  plannedKnock = null;
  // Waiting for the opening time, the page stays as it is until the server lets it in.
  if (document.body.dataset.state !== 'too-early') show('lobby');
  try {
    const welcome = await client.connect({ token });
    if (!admitted && document.body.dataset.state !== 'lobby') show('lobby');
    if (!admitted) announce(t('lobby.youAreIn'));
    earlyAgain = 0;
    lateTries = 0;
    delete document.body.dataset.tooEarly;
    const booking = /** @type {{booking?: {startsAt: string, minutes: number} | null}} */ (welcome).booking;
    booked = booking?.startsAt ? { startsAt: booking.startsAt } : null;
    showTooEarly();
    $('#lobby-starts').hidden = !booked;
  } catch (error) {
    if (error instanceof SignallingError && error.code === 'too-early') tooEarly(error.detail);
    else fail(error instanceof SignallingError ? error.code : 'closed');
  }
}

$('#too-early-retry').addEventListener('click', () => knockAgain());
$('#too-early-check').addEventListener('click', async () => {
  show('devices');
  await deviceCheck.open({ audio: true, video: true });
});
document.addEventListener('samrom:language', showTooEarly);

/** A reload in the call: straight back in with the resume token of this tab, no knocking. */
async function rejoin() {
  const stored = await storedResume(token);
  if (!stored) return;
  // The camera and microphone chosen in the device check, if they are still there.
  stream = (await openMedia(preferredDevices(stored.video))).stream;
  displayName = stored.name;
  /** @type {HTMLInputElement} */ ($('#display-name')).value = stored.name;
  admitted = true;
  listen();
  prepareCall({ resumed: true });
  try {
    // Back in the seat: `admitted`, the roster and everyone's keys follow; the calls start with them.
    await client.connect({ resume: stored.resume });
    showCall();
    announce(t('call.back'));
  } catch {
    // Gone (too long away, or the consultation ended): start from the welcome.
    admitted = false;
    forgetResume();
    stopCall();
    for (const track of stream?.getTracks() ?? []) track.stop();
    stream = null;
    show('welcome');
  }
}

$('#check-devices').addEventListener('click', async () => {
  show('devices');
  await deviceCheck.open({ audio: true, video: true });
});
$('#join-audio-only').addEventListener('click', async () => {
  stream = (await openMedia({ audio: true, video: false })).stream;
  await join();
});
$('#join').addEventListener('click', () => {
  stream = deviceCheck.finish();
  join();
});
$('#join-sound-only').addEventListener('click', () => {
  stream = deviceCheck.finish({ soundOnly: true });
  join();
});
$('#mute').addEventListener('click', (event) => {
  toggleTracks(event, stream?.getAudioTracks(), 'call.unmute', 'call.mute');
  grid?.tellMedia();
});
$('#camera').addEventListener('click', (event) => {
  toggleTracks(event, stream?.getVideoTracks(), 'call.cameraOn', 'call.cameraOff');
  grid?.tellMedia();
});
$('#leave').addEventListener('click', () => {
  client.leave();
  leaveForGood();
  show('done');
});


/** @type {string} */
let before = 'welcome';
for (const button of document.querySelectorAll('.show-access')) {
  button.addEventListener('click', async () => {
    before = document.body.dataset.state ?? 'welcome';
    try {
      const report = await api('/api/access-report', { method: 'POST', body: JSON.stringify({ token }) });
      const body = /** @type {HTMLTableElement} */ ($('#access')).tBodies[0];
      body.replaceChildren();
      for (const access of report.accesses) {
        const tr = document.createElement('tr');
        const who = has(`role.${access.role}`) ? t(`role.${access.role}`) : access.role;
        const cells = [new Date(access.at).toLocaleString(locale()), access.name ? `${who} ${access.name}` : who,
          has(`action.${access.action}`) ? t(`action.${access.action}`) : access.action, t(access.outcome === 'allowed' ? 'access.yes' : 'access.denied')];
        for (const text of cells) {
          const td = document.createElement('td');
          td.textContent = text;
          tr.append(td);
        }
        body.append(tr);
      }
      show('access');
    } catch {
      fail('invalid-token');
    }
  });
}
$('#access-back').addEventListener('click', () => show(before));

/** The ID-porten part of the welcome, when the server has it. */
async function offerIdPorten() {
  /** @type {{idPorten?: boolean} | null} */
  let options = null;
  try {
    options = await api('/api/session/options');
  } catch {
    return;
  }
  if (!options?.idPorten) return;
  const link = /** @type {HTMLAnchorElement} */ ($('#id-porten-login'));
  link.href = `/api/identity/id-porten?return=${encodeURIComponent(location.pathname + location.search)}`;
  const problem = $('#id-porten-problem');
  link.addEventListener('click', (event) => {
    try {
      sessionStorage.setItem(ID_PORTEN_KEY, `${location.pathname}${location.search}#${token}`);
    } catch {
      // Without storage the link's token would be lost on the way: stay.
      event.preventDefault();
      problem.hidden = false;
      say(problem, 'deltaker.idPorten.error.other');
      announce(problem.textContent ?? '');
    }
  });
  $('#id-porten').hidden = false;
  if (!idPortenResult) return;
  if ('verified' in idPortenResult) {
    $('#id-porten-verified').hidden = false;
    $('#id-porten-offer').hidden = true;
    announce(t('deltaker.idPorten.verified'));
  } else {
    const key = `deltaker.idPorten.error.${idPortenResult.error}`;
    problem.hidden = false;
    say(problem, has(key) ? key : 'deltaker.idPorten.error.other');
    announce(problem.textContent ?? '');
  }
}

if (!token) fail('invalid-token');
else {
  offerIdPorten();
  rejoin();
}
