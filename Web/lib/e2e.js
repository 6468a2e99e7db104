// @ts-check
/**
 * The end-to-end chat construction (docs/protocol.md, "End-to-end chat"),
 * byte for byte the same as the server-side reference `ChatCipher` in Swift.
 * No DOM: the UI imports this and never touches keys itself.
 *
 *     import { load } from './sodium.js';
 *     import { ChatCipher, keyId } from './e2e.js';
 *     const sodium = await load();
 *     const own = sodium.kxKeypair();
 *     const chat = new ChatCipher(sodium, consultationId, 'deltaker', own, peerPublicKey);
 *     const envelope = chat.seal({ text: 'Hei', sentAt: new Date().toISOString() }, 'm-1');
 */

import { toBase64Url, fromBase64Url } from './sodium.js';

/** @typedef {import('./sodium.js').Sodium} Sodium */
/** @typedef {'veileder' | 'deltaker'} Role */

/**
 * What travels: all fields base64url without padding.
 * @typedef {object} Envelope
 * @property {string} clientMsgId
 * @property {string} senderKeyId
 * @property {string} recipientKeyId
 * @property {string} nonce
 * @property {string} ciphertext
 */

/**
 * What is sealed.
 * @typedef {object} ChatMessage
 * @property {string} text
 * @property {string} sentAt  UTC, RFC 3339 with milliseconds
 */

export const PADDING_BLOCK = 128;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * keyId = base64url(crypto_generichash(16, publicKey)).
 * @param {Sodium} sodium
 * @param {Uint8Array} publicKey
 * @returns {string}
 */
export function keyId(sodium, publicKey) {
  return toBase64Url(sodium.genericHash(16, publicKey));
}

/**
 * The safety code both people read aloud: the first 8 bytes, big-endian, of
 * crypto_generichash(32, "samrom/safety/v1" ‖ lower ‖ higher) modulo 10^12,
 * as "0123 4567 8901".
 * @param {Sodium} sodium
 * @param {Uint8Array} a
 * @param {Uint8Array} b
 * @returns {string}
 */
export function safetyCode(sodium, a, b) {
  const [lower, higher] = compareBytes(a, b) <= 0 ? [a, b] : [b, a];
  const label = encoder.encode('samrom/safety/v1');
  const input = new Uint8Array(label.length + lower.length + higher.length);
  input.set(label, 0);
  input.set(lower, label.length);
  input.set(higher, label.length + lower.length);
  const digest = sodium.genericHash(32, input);
  let value = 0n;
  for (let i = 0; i < 8; i++) value = (value << 8n) | BigInt(digest[i]);
  const digits = (value % 1000000000000n).toString().padStart(12, '0');
  return `${digits.slice(0, 4)} ${digits.slice(4, 8)} ${digits.slice(8, 12)}`;
}

/**
 * @param {Uint8Array} a
 * @param {Uint8Array} b
 */
function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * utf8("samrom/chat/v1|" + consultation + "|" + senderRole + "|" + clientMsgId
 * + "|" + senderKeyId + "|" + recipientKeyId).
 * @param {string} consultation
 * @param {Role} senderRole
 * @param {string} clientMsgId
 * @param {string} senderKeyId
 * @param {string} recipientKeyId
 */
export function associatedData(consultation, senderRole, clientMsgId, senderKeyId, recipientKeyId) {
  return encoder.encode(`samrom/chat/v1|${consultation}|${senderRole}|${clientMsgId}|${senderKeyId}|${recipientKeyId}`);
}

/** One device's chat with the other side of one consultation. */
export class ChatCipher {
  /**
   * @param {Sodium} sodium
   * @param {string} consultation
   * @param {Role} role        this device's role: the deltaker is the kx client, the veileder the kx server
   * @param {{publicKey: Uint8Array, secretKey: Uint8Array}} own
   * @param {Uint8Array} peerPublicKey
   */
  constructor(sodium, consultation, role, own, peerPublicKey) {
    this.sodium = sodium;
    this.consultation = consultation;
    this.role = role;
    this.ownPublicKey = own.publicKey;
    this.peerPublicKey = peerPublicKey;
    const keys = role === 'deltaker'
      ? sodium.kxClientSessionKeys(own.publicKey, own.secretKey, peerPublicKey)
      : sodium.kxServerSessionKeys(own.publicKey, own.secretKey, peerPublicKey);
    /** @private */ this.rx = keys.rx;
    /** @private */ this.tx = keys.tx;
    this.ownKeyId = keyId(sodium, own.publicKey);
    this.peerKeyId = keyId(sodium, peerPublicKey);
  }

  get safetyCode() {
    return safetyCode(this.sodium, this.ownPublicKey, this.peerPublicKey);
  }

  /**
   * @param {ChatMessage} message
   * @param {string} clientMsgId
   * @param {Uint8Array} [nonce]  24 bytes; random when omitted (only tests pass one)
   * @returns {Envelope}
   */
  seal(message, clientMsgId, nonce = this.sodium.randomBytes(24)) {
    const json = encoder.encode(JSON.stringify({ sentAt: message.sentAt, text: message.text }));
    const padded = this.sodium.pad(json, PADDING_BLOCK);
    const ad = associatedData(this.consultation, this.role, clientMsgId, this.ownKeyId, this.peerKeyId);
    const ciphertext = this.sodium.aeadEncrypt(padded, ad, nonce, this.tx);
    padded.fill(0);
    return {
      clientMsgId,
      senderKeyId: this.ownKeyId,
      recipientKeyId: this.peerKeyId,
      nonce: toBase64Url(nonce),
      ciphertext: toBase64Url(ciphertext),
    };
  }

  /**
   * Opens an envelope from the other side; throws if anything was changed.
   * @param {Envelope} envelope
   * @param {Role} senderRole
   * @returns {ChatMessage}
   */
  open(envelope, senderRole) {
    const ad = associatedData(this.consultation, senderRole, envelope.clientMsgId, envelope.senderKeyId, envelope.recipientKeyId);
    const padded = this.sodium.aeadDecrypt(
      fromBase64Url(envelope.ciphertext), ad, fromBase64Url(envelope.nonce), this.rx);
    const json = this.sodium.unpad(padded, PADDING_BLOCK);
    padded.fill(0);
    const parsed = JSON.parse(decoder.decode(json));
    json.fill(0);
    if (typeof parsed?.text !== 'string' || typeof parsed?.sentAt !== 'string') throw new Error('not a chat message');
    return { text: parsed.text, sentAt: parsed.sentAt };
  }

  /**
   * Opens an envelope this device sent earlier (from the history), with the
   * key it was sealed with.
   * @param {Envelope} envelope
   * @returns {ChatMessage}
   */
  openOwn(envelope) {
    const ad = associatedData(this.consultation, this.role, envelope.clientMsgId, envelope.senderKeyId, envelope.recipientKeyId);
    const padded = this.sodium.aeadDecrypt(fromBase64Url(envelope.ciphertext), ad, fromBase64Url(envelope.nonce), this.tx);
    const json = this.sodium.unpad(padded, PADDING_BLOCK);
    padded.fill(0);
    const parsed = JSON.parse(decoder.decode(json));
    return { text: String(parsed.text), sentAt: String(parsed.sentAt) };
  }

  /** Forgets the session keys. */
  wipe() {
    this.rx.fill(0);
    this.tx.fill(0);
  }
}
