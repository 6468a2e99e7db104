// @ts-check
/**
 * The end-to-end chat of one consultation on this device, without DOM, on
 * top of lib/room.js (which holds the keys): each message is sealed once to
 * every peer in the call and once to this device's own key, so that the
 * server can give it back (`history`) without ever reading it; what arrives,
 * live or from the history, is opened here, this device's own messages from
 * the copy it sealed to itself.
 *
 * Events: `message` (detail: {text, sentAt, mine, seq, role, name?}),
 * `failure` (detail: text for the live region).
 */
import { t } from './i18n.js';
import { toBase64Url } from './sodium.js';
import { UnknownSenderError } from './e2e.js';

/** @typedef {import('./room.js').SecureRoom} SecureRoom */
/** @typedef {import('./protocol.js').ChatCopyFrame} ChatCopyFrame */

/** Copies from keys this device has not seen yet, kept until a key comes. */
const MAX_WAITING = 500;

export class ChatSession extends EventTarget {
  /** @param {SecureRoom} room */
  constructor(room) {
    super();
    this.room = room;
    this.client = room.client;
    this.sent = 0;
    /** @type {Set<string>} `senderKeyId/clientMsgId` of every message shown */
    this.seen = new Set();
    /** The highest `seq` seen: the history is asked for from there. */
    this.lastSeq = -1;
    /** @type {ChatCopyFrame[]} copies from senders whose key has not come */
    this.waiting = [];
    /** @type {Map<string, {text: string, sentAt: string}>} sent, not yet acknowledged, by clientMsgId */
    this.unacked = new Map();
    this.caughtUp = false;
    /** @type {Array<() => void> | null} what came before the room's keys were loaded */
    this.inbox = [];
    /** @param {() => void} handle */
    const later = (handle) => (this.inbox ? this.inbox.push(handle) : handle());
    /** @param {Event} event */
    const detail = (event) => /** @type {CustomEvent} */ (event).detail;
    this.client.addEventListener('chat', (e) => later(() => this.receive(detail(e))));
    this.client.addEventListener('chat-ack', (e) => later(() => this.acknowledged(detail(e))));
    this.client.addEventListener('history', (e) => later(() => this.page(detail(e))));
    // The consultation's stored chat reached its limit: what waits for an acknowledgement never gets one.
    this.client.addEventListener('error', (e) => {
      if (detail(e)?.code !== 'chat-full') return;
      this.unacked.clear();
      this.dispatchEvent(new CustomEvent('failure', { detail: t('chat.full') }));
    });
    // The server has this device's key (again): what it holds for this key, and what it never acknowledged.
    room.addEventListener('ready', () => later(() => this.catchUp()));
    room.addEventListener('keys', () => later(() => this.retry()));
  }

  /** Waits for the room's keys, then handles what arrived meanwhile. */
  async start() {
    await this.room.start();
    const inbox = /** @type {Array<() => void>} */ (this.inbox ?? []);
    this.inbox = null;
    for (const handle of inbox) handle();
    // Ready before this session listened: catch up now (once; later `ready`s do it themselves).
    if (this.room.confirmed && !this.caughtUp) this.catchUp();
  }

  /** Asks for what the server holds for this key since the last seen, and sends what was never acknowledged. */
  catchUp() {
    this.caughtUp = true;
    this.client.history(this.lastSeq >= 0 ? this.lastSeq : undefined);
    for (const [clientMsgId, message] of this.unacked) this.transmit(clientMsgId, message);
  }

  /** @param {{messages: ChatCopyFrame[], more: boolean}} answer */
  page(answer) {
    if (!Array.isArray(answer?.messages)) return;
    for (const copy of answer.messages) this.receive(copy);
    if (answer.more && answer.messages.length > 0) this.client.history(this.lastSeq);
  }

  /** @param {{clientMsgId: string, seq: number}} ack */
  acknowledged(ack) {
    if (!this.unacked.delete(ack?.clientMsgId)) return;
    if (typeof ack.seq === 'number') this.lastSeq = Math.max(this.lastSeq, ack.seq);
  }

  /** @param {ChatCopyFrame} copy  this device's copy, live or from the history */
  receive(copy) {
    const keyring = this.room.keyring;
    if (!keyring || typeof copy?.senderKeyId !== 'string' || typeof copy.clientMsgId !== 'string') return;
    if (typeof copy.seq === 'number') this.lastSeq = Math.max(this.lastSeq, copy.seq);
    const id = `${copy.senderKeyId}/${copy.clientMsgId}`;
    if (this.seen.has(id)) return;
    let opened;
    try {
      opened = keyring.openChat(copy);
    } catch (error) {
      if (error instanceof UnknownSenderError) {
        // From someone whose key has not come (yet): opened when it does.
        if (this.waiting.length < MAX_WAITING && !this.waiting.some((w) => `${w.senderKeyId}/${w.clientMsgId}` === id)) this.waiting.push(copy);
        return;
      }
      this.seen.add(id);
      this.dispatchEvent(new CustomEvent('failure', { detail: t('chat.unreadable') }));
      return;
    }
    this.seen.add(id);
    const sender = [...this.room.members.values()].find((member) => member.keyId === copy.senderKeyId);
    this.dispatchEvent(new CustomEvent('message', {
      detail: { text: opened.text, sentAt: opened.sentAt, mine: opened.mine, seq: copy.seq, role: copy.senderRole, name: opened.mine ? undefined : sender?.name },
    }));
  }

  /** A key came: the copies that waited for it. */
  retry() {
    const keyring = this.room.keyring;
    if (!keyring) return;
    const ready = this.waiting.filter((copy) => keyring.canOpenFrom(copy.senderKeyId));
    if (ready.length === 0) return;
    this.waiting = this.waiting.filter((copy) => !ready.includes(copy));
    for (const copy of ready.sort((a, b) => a.seq - b.seq)) this.receive(copy);
  }

  /**
   * Seals a message to everyone in the call and to this device, and sends it.
   * @param {string} text
   * @returns {string} its clientMsgId
   */
  send(text) {
    const keyring = this.room.keyring;
    if (!keyring || this.room.readyPeers().length === 0) throw new Error('no one to write to yet');
    const clientMsgId = `${Date.now().toString(36)}-${(this.sent++).toString(36)}-${toBase64Url(keyring.sodium.randomBytes(6))}`;
    const message = { text, sentAt: new Date().toISOString() };
    this.unacked.set(clientMsgId, message);
    this.seen.add(`${keyring.keyId}/${clientMsgId}`);
    this.transmit(clientMsgId, message);
    this.dispatchEvent(new CustomEvent('message', { detail: { ...message, mine: true, seq: null } }));
    return clientMsgId;
  }

  /**
   * Seals for whoever is reachable now and sends (again, after a drop: the
   * server never stores a clientMsgId twice).
   * @param {string} clientMsgId
   * @param {{text: string, sentAt: string}} message
   */
  transmit(clientMsgId, message) {
    const keyring = this.room.keyring;
    if (!keyring || !this.room.confirmed) return;
    const recipients = this.room.readyPeers().map((member) => /** @type {string} */ (member.keyId));
    this.client.chat(keyring.sealChat(message, clientMsgId, recipients));
  }
}
