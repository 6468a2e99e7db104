// @ts-check
/**
 * The end-to-end chat of one consultation on this device, without DOM:
 * keeps this device's key pair in IndexedDB (per consultation; only the
 * public key ever leaves the device), announces it, learns the other side's
 * key, seals what is sent and opens what arrives, history included.
 *
 * Events: `message` (detail: {text, sentAt, mine, seq}), `ready` (detail:
 * the safety code), `key-changed` (the other side's key changed: compare the
 * safety code again), `failure` (detail: text).
 */
import { load } from './sodium.js';
import { ChatCipher } from './e2e.js';
import { fromBase64Url, toBase64Url } from './sodium.js';
import { t } from './i18n.js';

/** @typedef {import('./protocol.js').SignallingClient} SignallingClient */
/** @typedef {'veileder' | 'deltaker'} Role */

const DB = 'samrom';
const STORE = 'chat-keys';

/** @returns {Promise<IDBDatabase>} */
function database() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/**
 * This device's key pair for a consultation, made once and kept.
 * @param {import('./sodium.js').Sodium} sodium
 * @param {string} consultation
 * @returns {Promise<{publicKey: Uint8Array, secretKey: Uint8Array}>}
 */
async function deviceKey(sodium, consultation) {
  const db = await database();
  const stored = await new Promise((resolve, reject) => {
    const request = db.transaction(STORE).objectStore(STORE).get(consultation);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  if (stored) return stored;
  const pair = sodium.kxKeypair();
  await new Promise((resolve, reject) => {
    const transaction = db.transaction(STORE, 'readwrite');
    transaction.objectStore(STORE).put(pair, consultation);
    transaction.oncomplete = () => resolve(undefined);
    transaction.onerror = () => reject(transaction.error);
  });
  return pair;
}

export class ChatSession extends EventTarget {
  /**
   * @param {SignallingClient} client  already welcomed, in the call
   * @param {Role} role
   */
  constructor(client, role) {
    super();
    this.client = client;
    this.role = role;
    /** @type {ChatCipher | null} */
    this.cipher = null;
    /** @type {any[]} envelopes that came before the other side's key */
    this.waiting = [];
    this.sent = 0;
    this.seen = new Set();
    /** @type {Array<() => void> | null} what arrived before start() finished */
    this.inbox = [];
    // Listen at once: the other side's key may arrive before libsodium is loaded.
    /** @param {() => void} handle */
    const later = (handle) => (this.inbox ? this.inbox.push(handle) : handle());
    client.addEventListener('key', (e) => later(() => this.peerKey(/** @type {CustomEvent} */ (e).detail)));
    client.addEventListener('chat', (e) => later(() => this.receive(/** @type {CustomEvent} */ (e).detail)));
    client.addEventListener('chat-ack', (e) => this.seen.add(/** @type {CustomEvent} */ (e).detail.seq));
    client.addEventListener('history', (e) => later(() => {
      for (const message of /** @type {CustomEvent} */ (e).detail.messages) this.receive(message);
    }));
    // Back after a drop: announce the key again and fetch what came meanwhile (seen ones are skipped).
    client.addEventListener('reconnected', () => {
      if (this.inbox || !this.own) return;
      this.client.key(toBase64Url(this.own.publicKey));
      this.client.history();
    });
  }

  async start() {
    const welcome = this.client.welcome;
    if (!welcome) throw new Error('not connected');
    this.consultation = welcome.consultation.id;
    this.sodium = await load();
    this.own = await deviceKey(this.sodium, this.consultation);
    const inbox = this.inbox ?? [];
    this.inbox = null;
    for (const handle of inbox) handle();
    this.client.key(toBase64Url(this.own.publicKey));
    this.client.history();
  }

  /** @param {{publicKey: string, changed: boolean, role: Role}} message */
  peerKey(message) {
    if (!this.sodium || !this.own || message.role === this.role) return;
    const peer = fromBase64Url(message.publicKey);
    const changed = this.cipher !== null && toBase64Url(this.cipher.peerPublicKey) !== message.publicKey;
    this.cipher?.wipe();
    this.cipher = new ChatCipher(this.sodium, /** @type {string} */ (this.consultation), this.role, this.own, peer);
    if (changed || message.changed) this.dispatchEvent(new CustomEvent('key-changed', { detail: this.cipher.safetyCode }));
    this.dispatchEvent(new CustomEvent('ready', { detail: this.cipher.safetyCode }));
    const waiting = this.waiting;
    this.waiting = [];
    for (const envelope of waiting) this.receive(envelope);
  }

  /** @param {any} envelope */
  receive(envelope) {
    if (this.seen.has(envelope.seq)) return;
    const mine = envelope.senderRole === this.role;
    if (!this.cipher) {
      this.waiting.push(envelope);
      return;
    }
    try {
      const opened = mine ? this.cipher.openOwn(envelope) : this.cipher.open(envelope, envelope.senderRole);
      this.seen.add(envelope.seq);
      this.dispatchEvent(new CustomEvent('message', { detail: { ...opened, mine, seq: envelope.seq } }));
    } catch {
      // Sealed for an older key of this device or of the other side: it cannot be read here.
      this.seen.add(envelope.seq);
      this.dispatchEvent(new CustomEvent('failure', { detail: t('chat.unreadable') }));
    }
  }

  /** @param {string} text */
  send(text) {
    if (!this.cipher) throw new Error('the other side has not joined the chat yet');
    const clientMsgId = `${Date.now().toString(36)}-${(this.sent++).toString(36)}-${toBase64Url(/** @type {any} */ (this.sodium).randomBytes(6))}`;
    const sentAt = new Date().toISOString();
    const envelope = this.cipher.seal({ text, sentAt }, clientMsgId);
    this.client.chat(envelope);
    this.dispatchEvent(new CustomEvent('message', { detail: { text, sentAt, mine: true, seq: null } }));
    return clientMsgId;
  }
}
