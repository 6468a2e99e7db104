// @ts-check
/**
 * The deltaker's page: welcome, device check, lobby, call, done. The link's
 * token is in the URL fragment, which the browser never sends to a server or
 * puts in a Referer; it stays there so that reloading the page still works.
 */
import '/lib/page.js';
import { SignallingClient, SignallingError } from '/lib/protocol.js';
import { SecureRoom, forgetConsultation } from '/lib/room.js';
import { Call, politeTowards } from '/lib/rtc.js';
import { $, show, announce, attach, toggleTracks, bindChat, bindCallCode, say, followPictures, cameraSwitchedOff } from '/lib/ui.js';
import { ChatSession } from '/lib/chat.js';
import { api } from '/lib/api.js';
import { t, has, locale } from '/lib/i18n.js';
import { openMedia, preferredDevices } from '/lib/devices.js';
import { DeviceCheck } from '/j/devicecheck.js';
import { announceReconnects, QualityIndicator, rememberResume, storedResume, forgetResume } from '/lib/resilience.js';

const token = location.hash.slice(1);

/** @type {MediaStream | null} */
let stream = null;
/** @type {Call | null} */
let call = null;
const client = new SignallingClient();
// This device's keys for the consultation; a deltaker sends no display name (yet).
const room = new SecureRoom(client);
const deviceCheck = new DeviceCheck();
// The veileder is told when the camera is switched off, and this page says when theirs is.
const tellPicture = followPictures(room, () => cameraSwitchedOff(stream));

/** @param {string} code */
function fail(code) {
  say($('#problem-text'), has(`problem.${code}`) ? `problem.${code}` : 'problem.other');
  show('problem');
}

/** In the call (admitted, or back with the resume token): a drop resumes, it does not knock. */
let admitted = false;
let listening = false;
let chatStarted = false;
/**
 * This page came back (reloaded) into a call the veileder is still in: it
 * makes the first offer, since only a new offer tells the veileder's page.
 * `null` after a reload until the first roster says: `false` if the veileder
 * is not in it (then the veileder offers when they come).
 * @type {boolean | null}
 */
let resumedInto = false;
/** The veileder left the roster (left, or dropped): their return is announced. */
let veilederAway = false;
const quality = new QualityIndicator();

function hasVideo() {
  return (stream?.getVideoTracks().length ?? 0) > 0;
}

/** The call view, once: own picture, controls, chat. */
function showCall() {
  if (document.body.dataset.state === 'call') return;
  attach(/** @type {HTMLVideoElement} */ ($('#local')), stream);
  // Sound only: no small picture of yourself and no camera button.
  const withVideo = hasVideo();
  $('#local').hidden = !withVideo;
  $('#camera').hidden = !withVideo;
  show('call');
  quality.follow(() => call);
  if (chatStarted) return;
  chatStarted = true;
  bindCallCode(room);
  const chat = new ChatSession(room);
  bindChat(chat);
  chat.start().catch(() => announce(t('chat.cannotStart')));
}

/**
 * The call with the veileder, once both keys are in place; the one running
 * is kept when the same veileder is reachable again (a page or socket that
 * came back: rtc.js restarts ICE if needed).
 * @param {import('/lib/room.js').Member} peer
 */
function startCall(peer) {
  if (peer.role !== 'veileder') return;  // a call of more than two is a later step
  if (veilederAway) announce(t('deltaker.peerBack'));
  veilederAway = false;
  if (call && !call.closed && call.peer === peer.participant) return;
  call?.close();
  const leads = resumedInto !== false;
  resumedInto = false;
  call = new Call(room, {
    peer: peer.participant, polite: politeTowards({ participant: room.me ?? '', role: 'deltaker' }, peer), leads,
    iceServers: client.admitted?.iceServers ?? [], iceTransportPolicy: client.admitted?.iceTransportPolicy,
    stream: stream ?? undefined,
  });
  call.addEventListener('remote-stream', (event) => attach(/** @type {HTMLVideoElement} */ ($('#remote')), /** @type {CustomEvent} */ (event).detail));
  showCall();
}

function listen() {
  if (listening) return;
  listening = true;
  announceReconnects(client);
  // A deltaker in the call comes back with the latest resume token; one still in the lobby knocks again.
  client.reconnectWith = () => (admitted && client.welcome ? { resume: client.welcome.resume } : { token });
  client.addEventListener('welcome', (event) => {
    if (admitted) rememberResume(token, /** @type {CustomEvent} */ (event).detail.resume, { video: hasVideo() });
  });
  client.addEventListener('hold', showHold);
  client.addEventListener('admitted', () => {
    // Fresh TURN credentials after a reconnect: for the next ICE round.
    if (client.admitted) call?.updateIceServers(client.admitted.iceServers, client.admitted.iceTransportPolicy);
    if (admitted) return;  // back with the resume token: nothing new to say
    admitted = true;
    if (client.welcome) rememberResume(token, client.welcome.resume, { video: hasVideo() });
    announce(t('lobby.admitted'));
    showCall();
  });
  client.addEventListener('roster', (event) => {
    if (resumedInto !== null) return;
    const participants = /** @type {CustomEvent} */ (event).detail.participants ?? [];
    if (!participants.some((/** @type {{role: string}} */ entry) => entry.role === 'veileder')) resumedInto = false;
  });
  client.addEventListener('denied', () => fail('ended'));
  client.addEventListener('ended', () => {
    const consultation = client.welcome?.consultation.id;
    forgetResume(); quality.stop(); call?.close(); room.close(); show('done');
    // The consultation is over: this device's keys for it go too.
    if (consultation) forgetConsultation(consultation).then(() => { document.body.dataset.keysForgotten = 'true'; });
  });
  room.addEventListener('peer-ready', (event) => startCall(/** @type {CustomEvent} */ (event).detail));
  room.addEventListener('peer-gone', (event) => {
    if (/** @type {CustomEvent} */ (event).detail.participant !== call?.peer) return;
    veilederAway = true;
    announce(t('deltaker.peerLeft'));
  });
  client.addEventListener('lost', async (event) => {
    const { code } = /** @type {CustomEvent} */ (event).detail;
    forgetResume();
    if (admitted && (code === 'invalid-token' || code === 'expired')) {
      // Away longer than the server keeps a place: knock again.
      admitted = false;
      quality.stop();
      call?.close();
      call = null;
      await knock();
    } else {
      fail(code);
    }
  });
}

async function join() {
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

/** Into the lobby: say hello with the link's token and wait to be let in. */
async function knock() {
  show('lobby');
  announce(t('lobby.youAreIn'));
  try {
    await client.connect({ token });
  } catch (error) {
    fail(error instanceof SignallingError ? error.code : 'closed');
  }
}

/** A reload in the call: straight back in with the resume token of this tab, no knocking. */
async function rejoin() {
  const stored = await storedResume(token);
  if (!stored) return;
  // The camera and microphone chosen in the device check, if they are still there.
  stream = (await openMedia(preferredDevices(stored.video))).stream;
  admitted = true;
  resumedInto = null;
  listen();
  try {
    // Back in the seat: `admitted`, the roster and the veileder's key follow; the call starts with them.
    await client.connect({ resume: stored.resume });
    showCall();
    announce(t('call.back'));
  } catch {
    // Gone (too long away, or the consultation ended): start from the welcome.
    admitted = false;
    forgetResume();
    for (const track of stream?.getTracks() ?? []) track.stop();
    stream = null;
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
$('#mute').addEventListener('click', (event) => toggleTracks(event, stream?.getAudioTracks(), 'call.unmute', 'call.mute'));
$('#camera').addEventListener('click', (event) => {
  toggleTracks(event, stream?.getVideoTracks(), 'call.cameraOn', 'call.cameraOff');
  tellPicture();
});
$('#leave').addEventListener('click', () => {
  forgetResume();
  quality.stop();
  client.leave();
  call?.close();
  room.close();
  for (const track of stream?.getTracks() ?? []) track.stop();
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

if (!token) fail('invalid-token');
else rejoin();
