// @ts-check
/**
 * The veileder's page: log in, see and create consultations, copy the link,
 * let a waiting deltaker in, talk. The protocol lives in lib/protocol.js and
 * lib/rtc.js; this file only turns it into screens.
 */
import { SignallingClient } from '/lib/protocol.js';
import { Call } from '/lib/rtc.js';
import { $, show, announce, attach, toggleTracks, bindChat, bindLogin } from '/lib/ui.js';
import { api, logout } from '/lib/api.js';
import { ChatSession } from '/lib/chat.js';

/**
 * @typedef {object} Summary
 * @property {string} id
 * @property {string | null} title
 * @property {'active' | 'ended' | 'expired'} status
 * @property {string} expiresAt
 * @property {number} waiting
 * @property {number} inCall
 */

const statusText = { active: 'Aktiv', ended: 'Avsluttet', expired: 'Lenken er utløpt' };

/** @type {{client: SignallingClient, call: Call | null, stream: MediaStream | null, id: string} | null} */
let room = null;
/** @type {number | undefined} */
let refresher;

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
  if (me.role !== 'veileder') {
    announce('Denne siden er for veiledere. Personvernombudet bruker /audit/.');
  }
  show('list');
  await refresh();
  clearInterval(refresher);
  refresher = setInterval(refresh, 5000);
}

async function refresh() {
  /** @type {{consultations: Summary[]}} */
  const { consultations } = await api('/api/consultations');
  const list = $('#consultations');
  list.replaceChildren();
  $('#no-consultations').hidden = consultations.length > 0;
  for (const c of consultations) {
    const item = document.createElement('li');
    item.className = c.waiting > 0 ? 'consultation waiting' : 'consultation';
    const title = document.createElement('strong');
    title.textContent = c.title || 'Uten tittel';
    const status = document.createElement('span');
    status.textContent = ` – ${statusText[c.status]}${c.waiting > 0 ? ` – ${c.waiting} venter i venterommet` : ''}`;
    item.append(title, status, document.createElement('br'));
    if (c.status === 'active') {
      item.append(
        button('Åpne', () => enterRoom(c), c.waiting > 0 ? 'primary' : ''),
        button('Ny lenke', () => newLink(c)),
        button('Avslutt', () => end(c.id), 'danger'));
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
  announce('Samtalen er laget. Kopier lenken og send den til deltakeren.');
}

/** @param {Summary} c */
async function newLink(c) {
  const created = await api(`/api/consultations/${c.id}/link`, { method: 'POST' });
  showLink(created.joinUrl);
}

/** @param {string} id */
async function end(id) {
  if (!confirm('Avslutte samtalen for godt? Lenken slutter å virke.')) return;
  await api(`/api/consultations/${id}/end`, { method: 'POST' });
  announce('Samtalen er avsluttet.');
  await refresh();
}

/** @param {Summary} c */
async function enterRoom(c) {
  clearInterval(refresher);
  $('#room-title').textContent = c.title || 'Samtale uten tittel';
  $('#lobby').replaceChildren();
  $('#lobby-empty').hidden = false;
  show('room');
  const client = new SignallingClient();
  room = { client, call: null, stream: null, id: c.id };
  const current = room;
  try {
    current.stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    attach(/** @type {HTMLVideoElement} */ ($('#local')), current.stream);
  } catch {
    announce('Fikk ikke tilgang til kamera eller mikrofon.');
  }
  client.addEventListener('knock', (e) => addToLobby(/** @type {CustomEvent} */ (e).detail.participant));
  client.addEventListener('lobby-left', (e) => removeFromLobby(/** @type {CustomEvent} */ (e).detail.participant));
  client.addEventListener('peer-joined', () => {
    if (current.call) return;
    current.call = new Call(client, { polite: false, iceServers: client.welcome?.iceServers ?? [], stream: current.stream ?? undefined });
    current.call.addEventListener('remote-stream', (event) => attach(/** @type {HTMLVideoElement} */ ($('#remote')), /** @type {CustomEvent} */ (event).detail));
    announce('Deltakeren er med i samtalen.');
  });
  client.addEventListener('peer-left', () => {
    current.call?.close();
    current.call = null;
    attach(/** @type {HTMLVideoElement} */ ($('#remote')), null);
    announce('Deltakeren har forlatt samtalen.');
  });
  client.addEventListener('ended', () => leaveRoom());
  $('#messages').replaceChildren();
  $('#safety-code').textContent = 'venter på den andre';
  $('#key-warning').hidden = true;
  // Listening before hello: the deltaker's stored key comes right after welcome.
  const chat = new ChatSession(client, 'veileder');
  bindChat(chat, 'Deltakeren');
  try {
    await client.connect({ consultation: c.id });
    await chat.start();
  } catch (error) {
    announce(`Kunne ikke åpne samtalen: ${/** @type {Error} */ (error).message}`);
  }
}

/** @param {string} participant */
function addToLobby(participant) {
  $('#lobby-empty').hidden = true;
  const item = document.createElement('li');
  item.dataset.participant = participant;
  item.append('En deltaker venter. ',
    button('Slipp inn', () => { room?.client.admit(participant); item.remove(); }, 'primary'),
    button('Avvis', () => { room?.client.deny(participant); item.remove(); }));
  $('#lobby').append(item);
  announce('En deltaker venter i venterommet.');
}

/** @param {string} participant */
function removeFromLobby(participant) {
  document.querySelector(`#lobby li[data-participant="${CSS.escape(participant)}"]`)?.remove();
  $('#lobby-empty').hidden = $('#lobby').children.length > 0;
}

async function leaveRoom() {
  if (room) {
    room.call?.close();
    room.client.close();
    for (const track of room.stream?.getTracks() ?? []) track.stop();
    room = null;
  }
  const me = await api('/api/me');
  await enterList(me);
}

bindLogin((me) => enterList(me));
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
$('#copy-link').addEventListener('click', async () => {
  const input = /** @type {HTMLInputElement} */ ($('#join-url'));
  try {
    await navigator.clipboard.writeText(input.value);
    announce('Lenken er kopiert.');
  } catch {
    input.select();
    announce('Merk lenken og kopier den med Ctrl+C.');
  }
});
$('#back').addEventListener('click', () => leaveRoom());
$('#end').addEventListener('click', async () => {
  if (!room || !confirm('Avslutte samtalen for godt? Lenken slutter å virke.')) return;
  room.client.end();
});
$('#mute').addEventListener('click', (event) => toggleTracks(event, room?.stream?.getAudioTracks(), 'Slå på mikrofonen', 'Slå av mikrofonen'));
$('#camera').addEventListener('click', (event) => toggleTracks(event, room?.stream?.getVideoTracks(), 'Slå på kameraet', 'Slå av kameraet'));


start();
