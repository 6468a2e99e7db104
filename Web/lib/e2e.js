// @ts-check
/**
 * The end-to-end constructions of protocol v2 (docs/protocol.md), byte for
 * byte the same as the Swift reference in Sources/SamromCore/EndToEnd/. No
 * DOM and no socket: lib/room.js feeds it the call's keys and sends what it
 * returns; the pages never touch a key.
 *
 *     import { load } from './sodium.js';
 *     import { Keyring } from './e2e.js';
 *     const sodium = await load();
 *     const ring = new Keyring(sodium, consultationId, sodium.kxKeypair());
 *     ring.setPeer('p-abc', peerPublicKey);
 *     const frame = ring.sealSignal('p-abc', { kind: 'offer', sdp });   // → the `signal` frame's fields
 *     const message = ring.openSignal(incoming);                       // → {kind: 'offer', sdp}
 *
 * - keyId = b64u(crypto_generichash(16, publicKey)).
 * - Pair keys: the side whose public key is lower as bytes is the kx client.
 * - A box = XChaCha20-Poly1305-IETF(sodium_pad(utf8(json), P), ad, nonce, tx),
 *   opened with the pair's rx; a copy to one's own key uses the self key (the
 *   `tx` of crypto_kx_client_session_keys(pk, sk, pk)) both ways.
 * - signal: P = 256, ad "samrom/signal/v2|consultation|senderKeyId|recipientKeyId".
 * - chat copy: P = 128, ad "samrom/chat/v2|consultation|clientMsgId|senderKeyId|recipientKeyId".
 * - The call code: commit → reveal → code (`CallCode` below).
 *
 * Every intermediate plaintext buffer (padded or not) is zeroed as soon as
 * it has been used, whether sealing or opening succeeded or not.
 */

import { toBase64Url, fromBase64Url } from './sodium.js';

/** @typedef {import('./sodium.js').Sodium} Sodium */
/** @typedef {import('./sodium.js').KeyPair} KeyPair */
/** @typedef {import('./sodium.js').SessionKeys} SessionKeys */

/** Padding blocks: what a box's length may reveal is rounded to these. */
export const SIGNAL_BLOCK = 256;
export const CHAT_BLOCK = 128;
/** The server's limit on a decoded signal box. */
export const MAX_SIGNAL_BOX = 48 * 1024;
/** The server's limit on a decoded chat ciphertext (12 KiB of padded text + the tag). */
export const MAX_CHAT_BOX = 12 * 1024 + 16;
const TAG_BYTES = 16;
const NONCE_BYTES = 24;
const KEY_BYTES = 32;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * A sealed signal as it travels (all byte values base64url without padding).
 * @typedef {object} SealedSignal
 * @property {string} to               the recipient's participant id
 * @property {string} senderKeyId
 * @property {string} recipientKeyId
 * @property {string} nonce
 * @property {string} box
 */

/**
 * One copy of a chat message, sealed to one key.
 * @typedef {object} ChatCopy
 * @property {string} recipientKeyId
 * @property {string} nonce
 * @property {string} ciphertext
 */

/**
 * The `chat` frame a client sends.
 * @typedef {object} ChatFrame
 * @property {string} clientMsgId
 * @property {string} senderKeyId
 * @property {ChatCopy[]} copies
 */

/**
 * What a chat copy holds.
 * @typedef {object} ChatMessage
 * @property {string} text
 * @property {string} sentAt  UTC, RFC 3339 with milliseconds
 */

/**
 * What a signal box holds. Unknown kinds are passed on as `{kind}` only, so
 * that a newer client's messages are ignored rather than refused.
 * @typedef {{kind: 'offer' | 'answer', sdp: string}
 *   | {kind: 'ice', candidate: RTCIceCandidateInit | null}
 *   | {kind: 'media', video: boolean, audio?: boolean}
 *   | {kind: 'profile', name: string}
 *   | {kind: 'commit', keys: string, commitment: string}
 *   | {kind: 'reveal', keys: string, nonce: string}
 *   | {kind: string}} SignalMessage
 */

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
 * Byte-wise order of two byte strings (a shorter prefix sorts first).
 * @param {Uint8Array} a
 * @param {Uint8Array} b
 * @returns {number} negative, zero or positive
 */
export function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * Equality without an early exit (for commitments).
 * @param {Uint8Array} a
 * @param {Uint8Array} b
 */
function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}

/**
 * The session keys between this device and one peer: the side whose public
 * key sorts lower as bytes is the kx client, the other the kx server.
 * @param {Sodium} sodium
 * @param {KeyPair} own
 * @param {Uint8Array} peerPublicKey
 * @returns {SessionKeys}
 */
export function pairKeys(sodium, own, peerPublicKey) {
  if (compareBytes(own.publicKey, peerPublicKey) === 0) throw new Error('a peer with this device’s own key');
  return compareBytes(own.publicKey, peerPublicKey) < 0
    ? sodium.kxClientSessionKeys(own.publicKey, own.secretKey, peerPublicKey)
    : sodium.kxServerSessionKeys(own.publicKey, own.secretKey, peerPublicKey);
}

/**
 * The key of copies to oneself (the chat's self-copy, read back from the
 * history): the `tx` of crypto_kx_client_session_keys(pk, sk, pk).
 * @param {Sodium} sodium
 * @param {KeyPair} own
 * @returns {Uint8Array}
 */
export function selfKey(sodium, own) {
  const keys = sodium.kxClientSessionKeys(own.publicKey, own.secretKey, own.publicKey);
  keys.rx.fill(0);
  return keys.tx;
}

/**
 * utf8("samrom/signal/v2|" + consultation + "|" + senderKeyId + "|" + recipientKeyId)
 * @param {string} consultation
 * @param {string} senderKeyId
 * @param {string} recipientKeyId
 */
export function signalAd(consultation, senderKeyId, recipientKeyId) {
  return encoder.encode(`samrom/signal/v2|${consultation}|${senderKeyId}|${recipientKeyId}`);
}

/**
 * utf8("samrom/chat/v2|" + consultation + "|" + clientMsgId + "|" + senderKeyId + "|" + recipientKeyId)
 * @param {string} consultation
 * @param {string} clientMsgId
 * @param {string} senderKeyId
 * @param {string} recipientKeyId
 */
export function chatAd(consultation, clientMsgId, senderKeyId, recipientKeyId) {
  return encoder.encode(`samrom/chat/v2|${consultation}|${clientMsgId}|${senderKeyId}|${recipientKeyId}`);
}

/**
 * JSON with the keys of every object sorted and no spaces: one spelling of
 * a value, as the Swift reference writes it.
 * @param {unknown} value
 * @returns {string}
 */
export function canonicalJSON(value) {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError('not a JSON value');
    return text;
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJSON(item ?? null)).join(',')}]`;
  const record = /** @type {Record<string, unknown>} */ (value);
  const keys = Object.keys(record).filter((key) => record[key] !== undefined).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJSON(record[key])}`).join(',')}}`;
}

/**
 * Seals a JSON object: pad to `block`, encrypt with `ad`. The padded
 * plaintext is zeroed whatever happens.
 * @param {Sodium} sodium
 * @param {object} value
 * @param {{block: number, ad: Uint8Array, key: Uint8Array, nonce?: Uint8Array}} how  `nonce`: only tests pass one
 * @returns {{nonce: string, box: string}}
 */
export function sealBox(sodium, value, { block, ad, key, nonce = sodium.randomBytes(NONCE_BYTES) }) {
  const json = encoder.encode(canonicalJSON(value));
  /** @type {Uint8Array | null} */
  let padded = null;
  try {
    padded = sodium.pad(json, block);
    return { nonce: toBase64Url(nonce), box: toBase64Url(sodium.aeadEncrypt(padded, ad, nonce, key)) };
  } finally {
    json.fill(0);
    padded?.fill(0);
  }
}

/**
 * The one way a box is opened (a signal, a chat copy from a peer, a chat
 * copy to oneself): checks the sizes before any work, decrypts, removes the
 * padding, parses, and zeroes every plaintext buffer on the way. Throws on
 * anything wrong: bad base64url, a nonce not 24 bytes, a box whose length is
 * not 16 + a multiple of `block` or over `max`, a failed tag, bad padding,
 * bad UTF-8, or JSON that is not an object.
 * @param {Sodium} sodium
 * @param {{nonce: unknown, box: unknown}} sealed  base64url text, as received
 * @param {{block: number, max: number, ad: Uint8Array, key: Uint8Array}} how
 * @returns {Record<string, unknown>}
 */
export function openBox(sodium, sealed, { block, max, ad, key }) {
  if (typeof sealed.nonce !== 'string' || typeof sealed.box !== 'string') throw new Error('a box needs a nonce and a box');
  const nonce = fromBase64Url(sealed.nonce);
  const box = fromBase64Url(sealed.box);
  if (nonce.length !== NONCE_BYTES) throw new Error('a nonce is 24 bytes');
  if (box.length < TAG_BYTES + block || box.length > max || (box.length - TAG_BYTES) % block !== 0) {
    throw new Error('a box of the wrong length');
  }
  /** @type {Uint8Array | null} */
  let padded = null;
  /** @type {Uint8Array | null} */
  let json = null;
  try {
    padded = sodium.aeadDecrypt(box, ad, nonce, key);
    json = sodium.unpad(padded, block);
    const value = JSON.parse(decoder.decode(json));
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('a box holds a JSON object');
    return value;
  } finally {
    padded?.fill(0);
    json?.fill(0);
  }
}

/**
 * @param {unknown} value
 * @param {number} max  UTF-16 code units
 */
function isText(value, max) {
  return typeof value === 'string' && value.length <= max;
}

/**
 * What a signal box may hold; throws on a known kind with bad fields.
 * @param {Record<string, unknown>} value
 * @returns {SignalMessage}
 */
export function signalMessage(value) {
  const { kind } = value;
  if (typeof kind !== 'string' || kind.length === 0 || kind.length > 32) throw new Error('a signal has a kind');
  switch (kind) {
    case 'offer':
    case 'answer':
      if (!isText(value.sdp, MAX_SIGNAL_BOX)) break;
      return { kind, sdp: /** @type {string} */ (value.sdp) };
    case 'ice': {
      const candidate = value.candidate;
      // No candidate (null, or left out as the Swift reference does): the end of candidates.
      if (candidate === null || candidate === undefined) return { kind, candidate: null };
      if (typeof candidate !== 'object' || Array.isArray(candidate)) break;
      const c = /** @type {Record<string, unknown>} */ (candidate);
      if (!isText(c.candidate, 4096)) break;
      if (c.sdpMid !== undefined && c.sdpMid !== null && !isText(c.sdpMid, 256)) break;
      if (c.sdpMLineIndex !== undefined && c.sdpMLineIndex !== null && !(Number.isInteger(c.sdpMLineIndex) && Number(c.sdpMLineIndex) >= 0 && Number(c.sdpMLineIndex) < 1024)) break;
      if (c.usernameFragment !== undefined && c.usernameFragment !== null && !isText(c.usernameFragment, 256)) break;
      return {
        kind,
        candidate: {
          candidate: /** @type {string} */ (c.candidate),
          sdpMid: /** @type {string | null | undefined} */ (c.sdpMid),
          sdpMLineIndex: /** @type {number | null | undefined} */ (c.sdpMLineIndex),
          usernameFragment: /** @type {string | null | undefined} */ (c.usernameFragment),
        },
      };
    }
    case 'media':
      if (typeof value.video !== 'boolean') break;
      // `audio` (the microphone) came after `video`: a client that leaves it
      // out says nothing of its microphone, and anything but a boolean is dropped.
      if (typeof value.audio === 'boolean') return { kind, video: value.video, audio: value.audio };
      return { kind, video: value.video };
    case 'profile':
      if (!isText(value.name, 200)) break;
      return { kind, name: /** @type {string} */ (value.name) };
    case 'commit':
      if (!isText(value.keys, 4096) || !isText(value.commitment, 64)) break;
      return { kind, keys: /** @type {string} */ (value.keys), commitment: /** @type {string} */ (value.commitment) };
    case 'reveal':
      if (!isText(value.keys, 4096) || !isText(value.nonce, 64)) break;
      return { kind, keys: /** @type {string} */ (value.keys), nonce: /** @type {string} */ (value.nonce) };
    default:
      return { kind };
  }
  throw new Error(`a ${kind} signal with bad fields`);
}

/**
 * What a chat copy may hold; throws otherwise.
 * @param {Record<string, unknown>} value
 * @returns {ChatMessage}
 */
export function chatMessage(value) {
  if (typeof value.text !== 'string' || typeof value.sentAt !== 'string' || value.sentAt.length > 64) throw new Error('not a chat message');
  return { text: value.text, sentAt: value.sentAt };
}

/**
 * @typedef {object} Peer  one other participant whose key this device knows
 * @property {string} participant
 * @property {Uint8Array} publicKey
 * @property {string} keyId
 * @property {SessionKeys} keys
 */

/**
 * This device's keys for one consultation and its pair keys with every
 * other participant, by participant id (a mesh of up to six holds five).
 * Also remembers the public key of every key id seen, so that history from
 * someone who has left can still be opened.
 */
export class Keyring {
  /**
   * @param {Sodium} sodium
   * @param {string} consultation
   * @param {KeyPair} own  this device's key pair for the consultation
   */
  constructor(sodium, consultation, own) {
    this.sodium = sodium;
    this.consultation = consultation;
    /** @private */ this.own = own;
    this.publicKey = own.publicKey;
    this.keyId = keyId(sodium, own.publicKey);
    /** @private */ this.self = selfKey(sodium, own);
    /** @type {Map<string, Peer>} by participant id */
    this.peers = new Map();
    /** @type {Map<string, Uint8Array>} every public key seen, by key id */
    this.known = new Map();
    /** @private @type {Map<string, SessionKeys>} pair keys by the peer's key id (also of peers who left) */
    this.pairs = new Map();
  }

  /**
   * Learns (or replaces) a participant's public key.
   * @param {string} participant
   * @param {Uint8Array} publicKey  32 bytes
   * @returns {{keyId: string, changed: boolean}}  `changed`: this participant had another key before
   */
  setPeer(participant, publicKey) {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== KEY_BYTES) throw new Error('a public key is 32 bytes');
    const id = keyId(this.sodium, publicKey);
    if (id === this.keyId) throw new Error('a peer with this device’s own key');
    const before = this.peers.get(participant);
    if (before && before.keyId === id) return { keyId: id, changed: false };
    const keys = this.pairFor(id, publicKey);
    this.peers.set(participant, { participant, publicKey, keyId: id, keys });
    return { keyId: id, changed: before !== undefined };
  }

  /**
   * Remembers a public key (by its key id) without a participant: one seen
   * in an earlier session, for reading history.
   * @param {Uint8Array} publicKey
   * @returns {string} its key id
   */
  remember(publicKey) {
    const id = keyId(this.sodium, publicKey);
    if (id !== this.keyId && !this.known.has(id)) this.known.set(id, publicKey);
    return id;
  }

  /**
   * @private
   * @param {string} id
   * @param {Uint8Array} publicKey
   * @returns {SessionKeys}
   */
  pairFor(id, publicKey) {
    let keys = this.pairs.get(id);
    if (!keys) {
      keys = pairKeys(this.sodium, this.own, publicKey);
      this.pairs.set(id, keys);
      this.known.set(id, publicKey);
    }
    return keys;
  }

  /**
   * The pair keys with the holder of a key id, if that key was ever seen.
   * @private
   * @param {string} id
   */
  pairByKeyId(id) {
    const keys = this.pairs.get(id);
    if (keys) return keys;
    const publicKey = this.known.get(id);
    return publicKey ? this.pairFor(id, publicKey) : undefined;
  }

  /** @param {string} participant */
  removePeer(participant) {
    this.peers.delete(participant);
  }

  /**
   * Seals a signal for one participant.
   * @param {string} participant
   * @param {SignalMessage} message
   * @param {Uint8Array} [nonce]  only tests pass one
   * @returns {SealedSignal}
   */
  sealSignal(participant, message, nonce) {
    const peer = this.peers.get(participant);
    if (!peer) throw new Error('no key for this participant');
    const ad = signalAd(this.consultation, this.keyId, peer.keyId);
    const sealed = sealBox(this.sodium, message, { block: SIGNAL_BLOCK, ad, key: peer.keys.tx, nonce });
    return { to: participant, senderKeyId: this.keyId, recipientKeyId: peer.keyId, ...sealed };
  }

  /**
   * Opens a signal from a participant: it must be addressed to this
   * device's key, from the key this device knows for `from`.
   * @param {{from: unknown, senderKeyId: unknown, recipientKeyId: unknown, nonce: unknown, box: unknown}} frame
   * @returns {SignalMessage}
   */
  openSignal(frame) {
    const peer = typeof frame.from === 'string' ? this.peers.get(frame.from) : undefined;
    if (!peer) throw new Error('a signal from someone without a key');
    if (frame.senderKeyId !== peer.keyId || frame.recipientKeyId !== this.keyId) throw new Error('a signal for other keys');
    const ad = signalAd(this.consultation, peer.keyId, this.keyId);
    return signalMessage(openBox(this.sodium, frame, { block: SIGNAL_BLOCK, max: MAX_SIGNAL_BOX, ad, key: peer.keys.rx }));
  }

  /**
   * Seals one chat message: one copy to each key id in `recipients` (the
   * participants in the call) and one to this device's own key.
   * @param {ChatMessage} message
   * @param {string} clientMsgId
   * @param {string[]} recipients  key ids of peers this keyring knows
   * @param {(recipientKeyId: string) => Uint8Array} [nonceFor]  only tests pass one
   * @returns {ChatFrame}
   */
  sealChat(message, clientMsgId, recipients, nonceFor) {
    const value = { sentAt: message.sentAt, text: message.text };
    const targets = [...new Set([...recipients.filter((id) => id !== this.keyId), this.keyId])];
    const copies = targets.map((recipientKeyId) => {
      const key = recipientKeyId === this.keyId ? this.self : this.pairByKeyId(recipientKeyId)?.tx;
      if (!key) throw new Error('no key for a recipient');
      const ad = chatAd(this.consultation, clientMsgId, this.keyId, recipientKeyId);
      const sealed = sealBox(this.sodium, value, { block: CHAT_BLOCK, ad, key, nonce: nonceFor?.(recipientKeyId) });
      return { recipientKeyId, nonce: sealed.nonce, ciphertext: sealed.box };
    });
    return { clientMsgId, senderKeyId: this.keyId, copies };
  }

  /**
   * Opens the copy of a chat message addressed to this device's key (live
   * or from the history): from a peer with the pair keys, from this device
   * itself with the self key. Throws if it cannot be opened here.
   * @param {{clientMsgId: unknown, senderKeyId: unknown, recipientKeyId: unknown, nonce: unknown, ciphertext: unknown}} copy
   * @returns {ChatMessage & {mine: boolean}}
   */
  openChat(copy) {
    const { clientMsgId, senderKeyId, recipientKeyId } = copy;
    if (typeof clientMsgId !== 'string' || typeof senderKeyId !== 'string' || recipientKeyId !== this.keyId) {
      throw new Error('a chat copy for another key');
    }
    const mine = senderKeyId === this.keyId;
    const key = mine ? this.self : this.pairByKeyId(senderKeyId)?.rx;
    if (!key) throw new UnknownSenderError();
    const ad = chatAd(this.consultation, clientMsgId, senderKeyId, recipientKeyId);
    const opened = chatMessage(openBox(this.sodium, { nonce: copy.nonce, box: copy.ciphertext }, { block: CHAT_BLOCK, max: MAX_CHAT_BOX, ad, key }));
    return { ...opened, mine };
  }

  /**
   * Whether copies from this key can be opened here (its public key is known, or it is this device's).
   * @param {string} senderKeyId
   */
  canOpenFrom(senderKeyId) {
    return senderKeyId === this.keyId || this.pairs.has(senderKeyId) || this.known.has(senderKeyId);
  }

  /** Forgets every session key. */
  wipe() {
    for (const keys of this.pairs.values()) {
      keys.rx.fill(0);
      keys.tx.fill(0);
    }
    this.pairs.clear();
    this.peers.clear();
    this.self.fill(0);
  }
}

/** A chat copy from a key this device has never seen: it may become readable later. */
export class UnknownSenderError extends Error {
  constructor() {
    super('a chat copy from an unknown key');
  }
}

/**
 * The code everyone in a call reads aloud, "dddd dddd dddd": the first 8
 * bytes of `digest`, big-endian, modulo 10^12.
 * @param {Uint8Array} digest
 * @returns {string}
 */
export function formatCode(digest) {
  let value = 0n;
  for (let i = 0; i < 8; i++) value = (value << 8n) | BigInt(digest[i]);
  const digits = (value % 1000000000000n).toString().padStart(12, '0');
  return `${digits.slice(0, 4)} ${digits.slice(4, 8)} ${digits.slice(8, 12)}`;
}

/**
 * b64u(crypto_generichash(32, utf8("samrom/commit/v2|" + K + "|" + b64u(publicKey) + "|" + b64u(nonce))))
 * @param {Sodium} sodium
 * @param {string} keys  K
 * @param {Uint8Array} publicKey
 * @param {Uint8Array} nonce
 */
export function commitment(sodium, keys, publicKey, nonce) {
  return toBase64Url(sodium.genericHash(32, encoder.encode(`samrom/commit/v2|${keys}|${toBase64Url(publicKey)}|${toBase64Url(nonce)}`)));
}

/**
 * The call code of a finished round: h = crypto_generichash(32,
 * utf8("samrom/call-code/v2|" + K + "|" + J)), J = "b64u(publicKey):b64u(nonce)"
 * of every participant sorted by public key bytes, joined with ";".
 * @param {Sodium} sodium
 * @param {string} keys  K
 * @param {Array<{publicKey: Uint8Array, nonce: Uint8Array}>} participants  everyone, oneself included
 */
export function callCode(sodium, keys, participants) {
  const joined = [...participants]
    .sort((a, b) => compareBytes(a.publicKey, b.publicKey))
    .map(({ publicKey, nonce }) => `${toBase64Url(publicKey)}:${toBase64Url(nonce)}`)
    .join(';');
  return formatCode(sodium.genericHash(32, encoder.encode(`samrom/call-code/v2|${keys}|${joined}`)));
}

/**
 * @typedef {object} Outgoing  a message for one other participant, by key id
 * @property {string} to  the recipient's key id
 * @property {SignalMessage} message
 */

/** How many rounds ahead a commit may be kept for (a view that has not caught up yet). */
const PENDING_ROUNDS = 8;

/**
 * The call code, as one participant computes it (docs/protocol.md, "The
 * call code"). Feed it every change of the view (key id → public key of
 * everyone in the call, itself included) with `update`, and every `commit`
 * and `reveal` that arrives with `receive`; both return the messages to
 * send, addressed by key id. Events:
 * - `code` (detail `{code, keys}`): every reveal matched; read this aloud;
 * - `pending` (detail `{keys}`): a new round began (the view changed), no code yet;
 * - `mismatch` (detail `{keys, keyId}`): a reveal did not match its commitment:
 *   someone is playing with the keys. No code this round.
 *
 * A peer that starts a round again for the same K (its view went away and
 * came back) sends a new commitment; this side then sends it its own commit
 * again (and its reveal, if already revealed), so both finish the round.
 */
export class CallCode extends EventTarget {
  /**
   * @param {Sodium} sodium
   * @param {{publicKey: Uint8Array, keyId: string}} own
   */
  constructor(sodium, own) {
    super();
    this.sodium = sodium;
    this.own = own;
    /** K of the current round ("" before any) */
    this.keys = '';
    /** @type {string | null} the code of the current round, once computed */
    this.code = null;
    /** @type {'idle' | 'committed' | 'revealed' | 'done' | 'mismatch'} */
    this.state = 'idle';
    /** @private @type {Map<string, Uint8Array>} the view of the current round */
    this.view = new Map();
    /** @private @type {Uint8Array} */
    this.nonce = new Uint8Array(0);
    /** @private */ this.ownCommitment = '';
    /** @private @type {Map<string, string>} commitments of the current round, by key id */
    this.commits = new Map();
    /** @private @type {Map<string, Uint8Array>} revealed nonces of the current round, by key id */
    this.reveals = new Map();
    /** @private @type {Map<string, Map<string, string>>} commits for rounds not reached yet, by K */
    this.pending = new Map();
  }

  /**
   * The view changed (or may have): a new round if the set of keys did.
   * With no one else in the view there is no round and no code.
   * @param {Map<string, Uint8Array>} view  key id → public key, this device included
   * @returns {Outgoing[]}
   */
  update(view) {
    const others = [...view.keys()].filter((id) => id !== this.own.keyId);
    const keys = [...others, this.own.keyId].sort().join(',');
    if (keys === this.keys && this.sameView(view)) return [];
    this.nonce.fill(0);
    this.keys = keys;
    this.view = new Map(view);
    this.view.set(this.own.keyId, this.own.publicKey);
    this.code = null;
    this.commits = new Map();
    this.reveals = new Map();
    if (others.length === 0) {
      this.state = 'idle';
      this.nonce = new Uint8Array(0);
      this.dispatchEvent(new CustomEvent('pending', { detail: { keys } }));
      return [];
    }
    this.nonce = this.sodium.randomBytes(32);
    this.ownCommitment = commitment(this.sodium, keys, this.own.publicKey, this.nonce);
    this.state = 'committed';
    this.dispatchEvent(new CustomEvent('pending', { detail: { keys } }));
    /** @type {Outgoing[]} */
    const out = others.map((to) => ({ to, message: { kind: 'commit', keys, commitment: this.ownCommitment } }));
    const early = this.pending.get(keys);
    this.pending.delete(keys);
    for (const [from, value] of early ?? []) {
      if (others.includes(from)) this.commits.set(from, value);
    }
    return out.concat(this.progress());
  }

  /**
   * @private
   * @param {Map<string, Uint8Array>} view
   */
  sameView(view) {
    for (const [id, publicKey] of view) {
      const held = this.view.get(id);
      if (!held || compareBytes(held, publicKey) !== 0) return false;
    }
    return true;
  }

  /**
   * A `commit` or `reveal` from the holder of `from` (its key id, as the
   * opened signal's sender). Anything else, and anything for another round,
   * is ignored (a commit for a round not reached yet is kept for it).
   * @param {string} from
   * @param {SignalMessage} message
   * @returns {Outgoing[]}
   */
  receive(from, message) {
    if (from === this.own.keyId) return [];
    if (message.kind === 'commit' && 'commitment' in message) {
      if (!isDigest(message.commitment)) return [];
      if (message.keys !== this.keys) {
        const members = message.keys.split(',');
        // Only rounds that hold both the sender and this device.
        if (members.includes(from) && members.includes(this.own.keyId)) this.keep(message.keys, from, message.commitment);
        return [];
      }
      if (!this.view.has(from) || this.state === 'idle') return [];
      // In the current round the first commitment binds: a participant may
      // not change it once it may have seen our nonce. A peer that really
      // starts over has left the view and come back, which is a new round
      // here too.
      if (this.commits.has(from)) return [];
      this.commits.set(from, message.commitment);
      return this.progress();
    }
    if (message.kind === 'reveal' && 'nonce' in message) {
      if (message.keys !== this.keys || !this.view.has(from) || !this.commits.has(from)) return [];
      if (this.state === 'idle' || this.state === 'mismatch') return [];
      let nonce;
      try {
        nonce = fromBase64Url(message.nonce);
      } catch {
        return [];
      }
      if (nonce.length !== 32 || this.reveals.has(from)) return [];
      this.reveals.set(from, nonce);
      return this.progress();
    }
    return [];
  }

  /**
   * @private
   * @param {string} keys
   * @param {string} from
   * @param {string} value
   */
  keep(keys, from, value) {
    let round = this.pending.get(keys);
    if (!round) {
      if (this.pending.size >= PENDING_ROUNDS) this.pending.delete(/** @type {string} */ (this.pending.keys().next().value));
      round = new Map();
      this.pending.set(keys, round);
    }
    round.set(from, value);
  }

  /**
   * Reveals once every commit is in; computes the code once every reveal is.
   * @private
   * @returns {Outgoing[]}
   */
  progress() {
    const others = [...this.view.keys()].filter((id) => id !== this.own.keyId);
    /** @type {Outgoing[]} */
    const out = [];
    if (this.state === 'committed' && others.every((id) => this.commits.has(id))) {
      this.state = 'revealed';
      const nonce = toBase64Url(this.nonce);
      for (const to of others) out.push({ to, message: { kind: 'reveal', keys: this.keys, nonce } });
    }
    if (this.state === 'revealed' && others.every((id) => this.reveals.has(id))) {
      for (const id of others) {
        const expected = commitment(this.sodium, this.keys, /** @type {Uint8Array} */ (this.view.get(id)), /** @type {Uint8Array} */ (this.reveals.get(id)));
        if (!sameBytes(fromBase64Url(expected), fromBase64Url(/** @type {string} */ (this.commits.get(id))))) {
          this.state = 'mismatch';
          this.code = null;
          this.dispatchEvent(new CustomEvent('mismatch', { detail: { keys: this.keys, keyId: id } }));
          return out;
        }
      }
      const participants = [...this.view].map(([id, publicKey]) => ({
        publicKey, nonce: id === this.own.keyId ? this.nonce : /** @type {Uint8Array} */ (this.reveals.get(id)),
      }));
      this.code = callCode(this.sodium, this.keys, participants);
      this.state = 'done';
      this.dispatchEvent(new CustomEvent('code', { detail: { code: this.code, keys: this.keys } }));
    }
    return out;
  }

  /** Forgets the round (the nonce is zeroed). */
  reset() {
    this.nonce.fill(0);
    this.nonce = new Uint8Array(0);
    this.keys = '';
    this.code = null;
    this.state = 'idle';
    this.view = new Map();
    this.commits = new Map();
    this.reveals = new Map();
    this.pending.clear();
  }
}

/**
 * Whether text is the base64url of 32 bytes.
 * @param {string} text
 */
function isDigest(text) {
  try {
    return fromBase64Url(text).length === 32;
  } catch {
    return false;
  }
}
