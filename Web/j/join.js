// @ts-check
/**
 * The deltaker's page: welcome, device check, lobby, call, done. The link's
 * token is in the URL fragment, which the browser never sends to a server or
 * puts in a Referer; it stays there so that reloading the page still works.
 */
import { SignallingClient, SignallingError } from '/lib/protocol.js';
import { Call } from '/lib/rtc.js';
import { $, show, announce, attach, toggleTracks, bindChat } from '/lib/ui.js';
import { ChatSession } from '/lib/chat.js';
import { api } from '/lib/api.js';

const token = location.hash.slice(1);

const messages = {
  'invalid-token': 'Lenken virker ikke. Spør veilederen din om en ny lenke.',
  expired: 'Lenken er for gammel. Spør veilederen din om en ny lenke.',
  ended: 'Denne samtalen er avsluttet.',
  'room-full': 'Det er for mange i venterommet akkurat nå. Prøv igjen om litt.',
  closed: 'Forbindelsen ble brutt. Last inn siden på nytt for å prøve igjen.',
};

/** @type {MediaStream | null} */
let stream = null;
/** @type {Call | null} */
let call = null;
const client = new SignallingClient();

/** @param {string} code */
function fail(code) {
  $('#problem-text').textContent = messages[/** @type {keyof typeof messages} */ (code)] ?? 'Noe gikk galt. Prøv igjen om litt.';
  show('problem');
}

/** @param {{video: boolean}} wanted */
async function openDevices(wanted) {
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: wanted.video });
    attach(/** @type {HTMLVideoElement} */ ($('#preview')), stream);
  } catch {
    const problem = $('#device-problem');
    problem.hidden = false;
    problem.textContent = 'Vi fikk ikke tilgang til kamera eller mikrofon. Du kan likevel gå videre; veilederen kan snakke med deg i chatten.';
  }
}

async function join() {
  show('lobby');
  announce('Du er i venterommet.');
  client.addEventListener('admitted', () => announce('Veilederen har sluppet deg inn.'));
  client.addEventListener('denied', () => fail('ended'));
  client.addEventListener('ended', () => { call?.close(); show('done'); });
  client.addEventListener('peer-joined', () => {
    if (call) return;
    call = new Call(client, { polite: true, iceServers: client.welcome?.iceServers ?? [], stream: stream ?? undefined });
    call.addEventListener('remote-stream', (event) => attach(/** @type {HTMLVideoElement} */ ($('#remote')), /** @type {CustomEvent} */ (event).detail));
    attach(/** @type {HTMLVideoElement} */ ($('#local')), stream);
    show('call');
    const chat = new ChatSession(client, 'deltaker');
    bindChat(chat, 'Veilederen');
    chat.start().catch(() => announce('Chatten kunne ikke starte i denne nettleseren.'));
  });
  client.addEventListener('peer-left', () => announce('Veilederen har forlatt samtalen. Vent litt, så kommer hen kanskje tilbake.'));
  try {
    await client.connect({ token });
  } catch (error) {
    fail(error instanceof SignallingError ? error.code : 'closed');
  }
}

$('#check-devices').addEventListener('click', async () => {
  show('devices');
  await openDevices({ video: true });
});
$('#join-audio-only').addEventListener('click', async () => {
  await openDevices({ video: false });
  await join();
});
$('#join').addEventListener('click', () => join());
$('#mute').addEventListener('click', (event) => toggleTracks(event, stream?.getAudioTracks(), 'Slå på mikrofonen', 'Slå av mikrofonen'));
$('#camera').addEventListener('click', (event) => toggleTracks(event, stream?.getVideoTracks(), 'Slå på kameraet', 'Slå av kameraet'));
$('#leave').addEventListener('click', () => {
  client.leave();
  call?.close();
  for (const track of stream?.getTracks() ?? []) track.stop();
  show('done');
});


const actionText = {
  'consultation.create': 'laget samtalen', 'consultation.link': 'laget ny lenke', 'consultation.end': 'avsluttet samtalen',
  'room.join': 'åpnet samtalen', 'room.knock': 'ventet i venterommet', 'room.admit': 'slapp inn', 'room.deny': 'avviste',
  'room.leave': 'gikk ut', 'room.resume': 'kom tilbake', 'chat.key': 'koblet til chatten', 'chat.history': 'leste chatten (kryptert)',
  'audit.search': 'leste tilgangsloggen', 'audit.access-report': 'så denne oversikten',
};
const roleText = { veileder: 'Veileder', deltaker: 'Deltaker', 'privacy-officer': 'Personvernombud', admin: 'Administrator', system: 'Systemet', anonymous: 'Ukjent' };

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
        const who = roleText[/** @type {keyof typeof roleText} */ (access.role)] ?? access.role;
        const cells = [new Date(access.at).toLocaleString('nb-NO'), access.name ? `${who} ${access.name}` : who,
          actionText[/** @type {keyof typeof actionText} */ (access.action)] ?? access.action, access.outcome === 'allowed' ? 'Ja' : 'Avvist'];
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
