// @ts-check
/**
 * The deltaker's page: welcome, device check, lobby, call, done. The link's
 * token is in the URL fragment, which the browser never sends to a server or
 * puts in a Referer; it stays there so that reloading the page still works.
 */
import '/lib/page.js';
import { SignallingClient, SignallingError } from '/lib/protocol.js';
import { Call } from '/lib/rtc.js';
import { $, show, announce, attach, toggleTracks, bindChat, say } from '/lib/ui.js';
import { ChatSession } from '/lib/chat.js';
import { api } from '/lib/api.js';
import { t, has, locale } from '/lib/i18n.js';
import { openMedia } from '/lib/devices.js';
import { DeviceCheck } from '/j/devicecheck.js';

const token = location.hash.slice(1);

/** @type {MediaStream | null} */
let stream = null;
/** @type {Call | null} */
let call = null;
const client = new SignallingClient();
const deviceCheck = new DeviceCheck();

/** @param {string} code */
function fail(code) {
  say($('#problem-text'), has(`problem.${code}`) ? `problem.${code}` : 'problem.other');
  show('problem');
}

async function join() {
  show('lobby');
  announce(t('lobby.youAreIn'));
  client.addEventListener('admitted', () => announce(t('lobby.admitted')));
  client.addEventListener('denied', () => fail('ended'));
  client.addEventListener('ended', () => { call?.close(); show('done'); });
  client.addEventListener('peer-joined', () => {
    if (call) return;
    call = new Call(client, { polite: true, iceServers: client.welcome?.iceServers ?? [], stream: stream ?? undefined });
    call.addEventListener('remote-stream', (event) => attach(/** @type {HTMLVideoElement} */ ($('#remote')), /** @type {CustomEvent} */ (event).detail));
    attach(/** @type {HTMLVideoElement} */ ($('#local')), stream);
    // Sound only: no small picture of yourself and no camera button.
    const withVideo = (stream?.getVideoTracks().length ?? 0) > 0;
    $('#local').hidden = !withVideo;
    $('#camera').hidden = !withVideo;
    show('call');
    const chat = new ChatSession(client, 'deltaker');
    bindChat(chat, 'deltaker.remote');
    chat.start().catch(() => announce(t('chat.cannotStart')));
  });
  client.addEventListener('peer-left', () => announce(t('deltaker.peerLeft')));
  try {
    await client.connect({ token });
  } catch (error) {
    fail(error instanceof SignallingError ? error.code : 'closed');
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
$('#camera').addEventListener('click', (event) => toggleTracks(event, stream?.getVideoTracks(), 'call.cameraOn', 'call.cameraOff'));
$('#leave').addEventListener('click', () => {
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
