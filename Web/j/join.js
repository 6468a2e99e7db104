// @ts-check
/**
 * The deltaker's page: welcome, device check, lobby, call, done. The link's
 * token is in the URL fragment, which the browser never sends to a server or
 * puts in a Referer; it stays there so that reloading the page still works.
 */
import '/lib/page.js';
import { SignallingClient, SignallingError } from '/lib/protocol.js';
import { Call } from '/lib/rtc.js';
import { $, show, announce, attach, toggleTracks, bindChat, say, followPictures, cameraSwitchedOff } from '/lib/ui.js';
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
const deviceCheck = new DeviceCheck();
// The veileder is told when the camera is switched off, and this page says when theirs is.
const tellPicture = followPictures(client, () => cameraSwitchedOff(stream));

/** @param {string} code */
function fail(code) {
  say($('#problem-text'), has(`problem.${code}`) ? `problem.${code}` : 'problem.other');
  show('problem');
}

/** In the call (admitted, or back with the resume token): a drop resumes, it does not knock. */
let admitted = false;
let listening = false;
let chatStarted = false;
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
  const chat = new ChatSession(client, 'deltaker');
  bindChat(chat, 'deltaker.remote');
  chat.start().catch(() => announce(t('chat.cannotStart')));
}

/**
 * The call with the veileder; the one running is kept when the same veileder
 * comes back (their page reconnected: rtc.js restarts ICE if needed).
 * @param {string} participant
 * @param {boolean} leads  this page was reloaded into a running call: offer first
 */
function startCall(participant, leads) {
  if (call && !call.closed && call.peer === participant) return;
  call?.close();
  call = new Call(client, {
    polite: true, iceServers: client.welcome?.iceServers ?? [], iceTransportPolicy: client.welcome?.iceTransportPolicy,
    stream: stream ?? undefined, peer: participant, leads,
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
  client.addEventListener('admitted', () => {
    if (admitted) return;  // back with the resume token: nothing new to say
    admitted = true;
    if (client.welcome) rememberResume(token, client.welcome.resume, { video: hasVideo() });
    announce(t('lobby.admitted'));
  });
  client.addEventListener('denied', () => fail('ended'));
  client.addEventListener('ended', () => { forgetResume(); quality.stop(); call?.close(); show('done'); });
  client.addEventListener('peer-joined', (event) => startCall(/** @type {CustomEvent} */ (event).detail.participant, false));
  client.addEventListener('peer-left', () => announce(t('deltaker.peerLeft')));
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
  listen();
  try {
    const welcome = await client.connect({ resume: stored.resume });
    showCall();
    announce(t('call.back'));
    const veileder = welcome.peers.find((peer) => peer.role === 'veileder');
    if (veileder) startCall(veileder.participant, true);
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
