// @ts-check
/**
 * The end-to-end side of one consultation's call on this device, without
 * DOM: this device's key pair (kept in IndexedDB per consultation; only the
 * public key leaves the device), the keys of everyone else in the call (from
 * `key` and `roster`), sealed `signal` boxes both ways, and the call code.
 * It works per pair, with a map of peers by participant id, so a mesh of up
 * to six needs nothing more here.
 *
 *     const room = new SecureRoom(client, { profile: () => ({ name: 'kari' }) });
 *     room.addEventListener('peer-ready', (e) => …e.detail.participant…);
 *     room.addEventListener('signal', (e) => …e.detail.from, e.detail.message…);
 *     room.send(participant, { kind: 'offer', sdp });
 *
 * What it does by itself: announces this device's key (`key`) after every
 * `admitted` (entering the call, and coming back into it after a drop);
 * answers `commit` and `reveal`; tells every peer that becomes reachable the
 * display name (`profile`), if the page gave one.
 *
 * Events:
 * - `ready`: the server has this device's key (the roster shows it): signals
 *   and chat may go out now; again after every reconnect;
 * - `roster` (detail: {@link Member}[]): who is in the call, this device included;
 * - `peer-ready` (detail: {@link Member}): a peer can be reached (both keys in
 *   place): first time, or back after a drop of either side;
 * - `peer-gone` (detail: {@link Member}): a peer left the roster (left, or dropped);
 * - `key-changed` (detail: {@link KeyChange}): a peer came back with another key;
 * - `signal` (detail `{from, role, message}`): an opened offer, answer or ice;
 * - `media` (detail `{from, video, audio}`: `audio` undefined when the sender
 *   did not say), `profile` (detail `{from, name}`);
 * - `code` (detail {@link CodeShown}), `code-pending`, `code-mismatch`: the call code;
 * - `code-checked` (detail `{code, keys}`): `markChecked()` recorded that the
 *   code of key set `keys` was read aloud and is the same for everyone;
 * - `keys`: a key was learned (chat copies waiting for it may open now);
 * - `failure` (detail: a short reason, never content): a box could not be opened.
 */
import { load, toBase64Url, fromBase64Url } from './sodium.js';
import { Keyring, CallCode, keyId as keyIdOf } from './e2e.js';

/** @typedef {import('./protocol.js').SignallingClient} SignallingClient */
/** @typedef {import('./protocol.js').Role} Role */
/** @typedef {import('./e2e.js').SignalMessage} SignalMessage */

/**
 * @typedef {object} Member
 * @property {string} participant
 * @property {Role} role
 * @property {string | null} keyId   as the roster says
 * @property {boolean} self          this device
 * @property {boolean} ready         a peer whose key this device holds, reachable now
 * @property {string} [name]         the display name it sent sealed (`profile`)
 */

/**
 * A peer's new key (`key-changed`): the member as it is now, and whether the
 * call code had been checked on this device with the key it replaced.
 * @typedef {Member & {previousKeyId: string | null, checkedBefore: boolean}} KeyChange
 */

/**
 * The call code of a finished round (`code`).
 * @typedef {object} CodeShown
 * @property {string} code      "dddd dddd dddd"
 * @property {string} keys      K: the sorted key ids of everyone in this device's view, joined with ","
 * @property {boolean} checked  the code of this very key set was checked aloud on this device before
 */

const DB = 'samrom';
const KEYS = 'chat-keys';   // this device's key pair, by consultation (the name predates v2)
const SEEN = 'peer-keys';   // public keys of others seen in a consultation, by consultation
const CHECKED = 'checked-keys';  // key sets (K) whose call code was checked aloud, by consultation

/** @returns {Promise<IDBDatabase>} */
function database() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 3);
    request.onupgradeneeded = () => {
      for (const store of [KEYS, SEEN, CHECKED]) {
        if (!request.result.objectStoreNames.contains(store)) request.result.createObjectStore(store);
      }
    };
    request.onsuccess = () => {
      // A newer page (another tab) may need to upgrade: let it.
      request.result.onversionchange = () => request.result.close();
      resolve(request.result);
    };
    request.onerror = () => reject(request.error);
    // An older page in another tab holds the database open: do without it here.
    request.onblocked = () => reject(new Error('the key store is busy in another tab'));
  });
}

/**
 * @param {IDBDatabase} db
 * @param {string} store
 * @param {string} key
 * @returns {Promise<any>}
 */
function read(db, store, key) {
  return new Promise((resolve, reject) => {
    const request = db.transaction(store).objectStore(store).get(key);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/**
 * @param {IDBDatabase} db
 * @param {string} store
 * @param {string} key
 * @param {unknown} value
 */
function write(db, store, key, value) {
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(store, 'readwrite');
    transaction.objectStore(store).put(value, key);
    transaction.oncomplete = () => resolve(undefined);
    transaction.onerror = () => reject(transaction.error);
  });
}

/**
 * A list of strings as kept in a store (anything else in it is dropped).
 * @param {unknown} value
 * @returns {string[]}
 */
function strings(value) {
  return Array.isArray(value) ? value.filter((item) => typeof item === 'string') : [];
}

/**
 * Adds `item` to the list of strings kept under `key`, last, the oldest
 * dropped beyond `max`, in one transaction: another tab on the same
 * consultation may have added to it meanwhile.
 * @param {IDBDatabase} db
 * @param {string} store
 * @param {string} key
 * @param {string} item
 * @param {number} max
 * @returns {Promise<string[]>} the list as stored now
 */
function append(db, store, key, item, max) {
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(store, 'readwrite');
    const objects = transaction.objectStore(store);
    /** @type {string[]} */
    let list = [];
    const request = objects.get(key);
    request.onsuccess = () => {
      list = [...strings(request.result).filter((other) => other !== item), item].slice(-max);
      objects.put(list, key);
    };
    transaction.oncomplete = () => resolve(list);
    transaction.onerror = () => reject(transaction.error);
  });
}

/**
 * This device's key pair for a consultation, made once and kept, the
 * public keys of others it has seen there, and the key sets whose call code
 * was checked there. Without IndexedDB (a private window that refuses it) a
 * fresh pair for this page only.
 * @param {import('./sodium.js').Sodium} sodium
 * @param {string} consultation
 * @returns {Promise<{own: import('./sodium.js').KeyPair, seen: string[], checked: string[], db: IDBDatabase | null}>}
 */
async function deviceKeys(sodium, consultation) {
  try {
    const db = await database();
    const stored = await read(db, KEYS, consultation);
    const seen = strings(await read(db, SEEN, consultation));
    const checked = strings(await read(db, CHECKED, consultation));
    if (stored?.publicKey instanceof Uint8Array && stored?.secretKey instanceof Uint8Array) return { own: stored, seen, checked, db };
    const own = sodium.kxKeypair();
    await write(db, KEYS, consultation, own);
    // A new key pair: no key set with it can have been checked.
    return { own, seen, checked: [], db };
  } catch {
    return { own: sodium.kxKeypair(), seen: [], checked: [], db: null };
  }
}

/**
 * The consultation has ended: this device's key pair for it, the public
 * keys of others it saw there and the key sets whose code was checked are
 * deleted (no one can read its chat any more, and the keys should not
 * outlive it on the device).
 * @param {string} consultation
 * @returns {Promise<void>}
 */
export async function forgetConsultation(consultation) {
  let db;
  try {
    db = await database();
    const transaction = db.transaction([KEYS, SEEN, CHECKED], 'readwrite');
    transaction.objectStore(KEYS).delete(consultation);
    transaction.objectStore(SEEN).delete(consultation);
    transaction.objectStore(CHECKED).delete(consultation);
    await new Promise((resolve, reject) => {
      transaction.oncomplete = () => resolve(undefined);
      transaction.onerror = () => reject(transaction.error);
    });
  } catch {
    // Without IndexedDB nothing was kept.
  } finally {
    db?.close();
  }
}

/** Signals kept for a participant whose key has not come yet (or not reachable yet). */
const MAX_EARLY = 64;
/** Participants whose early signals are kept. */
const MAX_EARLY_PEERS = 8;
/** Public keys of others remembered per consultation on this device. */
const MAX_SEEN = 64;
/** Checked key sets remembered per consultation on this device (the latest). */
const MAX_CHECKED = 32;

export class SecureRoom extends EventTarget {
  /**
   * @param {SignallingClient} client  not yet connected, or connected without `admitted` yet
   * @param {{profile?: () => ({name: string} | null)}} options  the display name sent to every peer (optional)
   */
  constructor(client, { profile = () => null } = {}) {
    super();
    this.client = client;
    this.profile = profile;
    /** @type {Keyring | null} */
    this.keyring = null;
    /** @type {CallCode | null} */
    this.code = null;
    /** @type {Map<string, Member>} everyone in the latest roster, by participant id */
    this.members = new Map();
    /** The server has this device's key on the current connection. */
    this.confirmed = false;
    /** This device's key went out on the current connection. */
    this.announced = false;
    /** @type {Set<string>} the participants that were reachable at the last look */
    this.reachable = new Set();
    /** @type {Map<string, any[]>} signals from participants whose key is not here yet */
    this.early = new Map();
    /** @type {Map<string, Array<{from: string, role: Role | undefined, message: SignalMessage}>>} opened call set-up from participants not reachable yet */
    this.pending = new Map();
    /** @type {Promise<void> | null} */
    this.starting = null;
    /** @type {IDBDatabase | null} */
    this.db = null;
    /** @type {string[]} */
    this.seen = [];
    /** @type {string[]} key sets (K) whose call code was checked aloud on this device, the latest last */
    this.checked = [];
    this.closed = false;
    /** @type {Array<() => void> | null} what came before the keys were loaded */
    this.inbox = [];

    /** @param {() => void} handle */
    const later = (handle) => (this.inbox ? this.inbox.push(handle) : handle());
    /** @param {Event} event */
    const detail = (event) => /** @type {CustomEvent} */ (event).detail;
    this.handlers = {
      welcome: () => { this.start().catch(() => this.fail('keys')); },
      admitted: () => later(() => this.announce()),
      roster: (/** @type {Event} */ e) => later(() => this.roster(detail(e).participants)),
      key: (/** @type {Event} */ e) => later(() => this.key(detail(e))),
      signal: (/** @type {Event} */ e) => later(() => this.signal(detail(e))),
      closed: () => later(() => this.disconnected()),
    };
    for (const [type, handler] of Object.entries(this.handlers)) client.addEventListener(type, handler);
    if (client.welcome) this.handlers.welcome();
  }

  /**
   * Loads libsodium and this device's keys for the consultation of the
   * welcome (once), then handles what arrived meanwhile.
   * @returns {Promise<void>}
   */
  start() {
    // Before the welcome nothing is known of the consultation: not an answer to keep.
    if (!this.client.welcome && !this.starting) return Promise.reject(new Error('not connected'));
    this.starting ??= (async () => {
      const welcome = /** @type {NonNullable<SignallingClient['welcome']>} */ (this.client.welcome);
      const sodium = await load();
      const { own, seen, checked, db } = await deviceKeys(sodium, welcome.consultation.id);
      if (this.closed) {
        db?.close();
        return;
      }
      this.db = db;
      this.seen = seen;
      this.checked = checked;
      const keyring = new Keyring(sodium, welcome.consultation.id, own);
      for (const text of seen) {
        try {
          keyring.remember(fromBase64Url(text));
        } catch {
          // Not a key: forget it.
        }
      }
      this.keyring = keyring;
      this.code = new CallCode(sodium, { publicKey: keyring.publicKey, keyId: keyring.keyId });
      this.code.addEventListener('code', (e) => {
        const { code, keys } = /** @type {CustomEvent<{code: string, keys: string}>} */ (e).detail;
        /** @type {CodeShown} */
        const shown = { code, keys, checked: this.checked.includes(keys) };
        this.dispatchEvent(new CustomEvent('code', { detail: shown }));
      });
      this.code.addEventListener('pending', () => this.dispatchEvent(new CustomEvent('code-pending')));
      this.code.addEventListener('mismatch', () => this.dispatchEvent(new CustomEvent('code-mismatch')));
      const inbox = /** @type {Array<() => void>} */ (this.inbox ?? []);
      this.inbox = null;
      for (const handle of inbox) handle();
      // In the call before this room listened (a page that made it late): announce now.
      if (this.client.inCall && !this.announced) this.announce();
    })();
    return this.starting;
  }

  /** This device's key id, once loaded. */
  get keyId() {
    return this.keyring?.keyId ?? null;
  }

  /**
   * The call code shown now (as the last `code` said), or null while a
   * round is under way or failed.
   * @returns {CodeShown | null}
   */
  get currentCode() {
    const round = this.code;
    if (!round || round.state !== 'done' || round.code === null) return null;
    return { code: round.code, keys: round.keys, checked: this.checked.includes(round.keys) };
  }

  /**
   * The people in the call read the code shown now aloud and it is the same
   * for everyone: remembers its key set (K) on this device, so that a later
   * session with the very same keys says so without asking again (a new
   * nonce makes a new code each time; the keys are what was checked). A
   * round that moves on meanwhile is not affected: only this K is recorded.
   * Dispatches `code-checked`. Without IndexedDB it lasts for this page.
   * @returns {Promise<boolean>} false: no code is shown now (a round under way, or a mismatch)
   */
  async markChecked() {
    const shown = this.currentCode;
    if (!shown) return false;
    const { code, keys } = shown;
    this.checked = [...this.checked.filter((other) => other !== keys), keys].slice(-MAX_CHECKED);
    const consultation = this.client.welcome?.consultation.id;
    if (this.db && consultation) {
      try {
        const stored = await append(this.db, CHECKED, consultation, keys, MAX_CHECKED);
        // What another tab checked meanwhile counts here too.
        this.checked = [...this.checked.filter((other) => !stored.includes(other)), ...stored].slice(-MAX_CHECKED);
      } catch {
        // Not kept on the device: checked for this page still.
      }
    }
    this.dispatchEvent(new CustomEvent('code-checked', { detail: { code, keys } }));
    return true;
  }

  /**
   * Whether the call code was checked on this device with a key set that held `keyId`.
   * @param {string} keyId
   */
  wasChecked(keyId) {
    return this.checked.some((keys) => keys.split(',').includes(keyId));
  }

  /** The participant id of this device on the current connection. */
  get me() {
    return this.client.welcome?.you.participant ?? null;
  }

  /** Sends this device's public key (after every `admitted`). */
  announce() {
    if (!this.keyring || !this.client.inCall) return;
    this.announced = true;
    this.client.key(toBase64Url(this.keyring.publicKey));
  }

  /** @param {Member} member */
  isReady(member) {
    if (member.self || !this.confirmed || !this.keyring || member.keyId === null) return false;
    return this.keyring.peers.get(member.participant)?.keyId === member.keyId;
  }

  /** The peers that can be reached now. */
  readyPeers() {
    return [...this.members.values()].filter((member) => member.ready);
  }

  /**
   * @param {import('./protocol.js').RosterEntry[]} entries
   */
  roster(entries) {
    const keyring = /** @type {Keyring} */ (this.keyring);
    if (!Array.isArray(entries)) return;
    const before = this.members;
    /** @type {Map<string, Member>} */
    const members = new Map();
    for (const entry of entries) {
      if (typeof entry?.participant !== 'string') continue;
      members.set(entry.participant, {
        participant: entry.participant, role: entry.role, keyId: typeof entry.keyId === 'string' ? entry.keyId : null,
        self: entry.participant === this.me, ready: false, name: before.get(entry.participant)?.name,
      });
    }
    this.members = members;
    const wasConfirmed = this.confirmed;
    this.confirmed = members.get(this.me ?? '')?.keyId === keyring.keyId;
    for (const [participant, member] of before) {
      if (!members.has(participant) && !member.self) {
        keyring.removePeer(participant);
        this.early.delete(participant);
        this.pending.delete(participant);
        this.dispatchEvent(new CustomEvent('peer-gone', { detail: member }));
      }
    }
    // A key seen before (this session, or kept on this device) needs no new announcement.
    for (const member of members.values()) {
      if (member.self || member.keyId === null || keyring.peers.get(member.participant)?.keyId === member.keyId) continue;
      const known = keyring.known.get(member.keyId);
      if (known) this.learn(member.participant, known);
    }
    this.refresh();
    if (this.confirmed && !wasConfirmed) this.dispatchEvent(new CustomEvent('ready'));
    this.dispatchEvent(new CustomEvent('roster', { detail: [...members.values()] }));
  }

  /**
   * A peer's public key (`key`): checked against its key id, then kept.
   * @param {import('./protocol.js').KeyAnnouncement} message
   */
  key(message) {
    const keyring = /** @type {Keyring} */ (this.keyring);
    if (typeof message?.from !== 'string' || message.from === this.me || typeof message.publicKey !== 'string') return;
    let publicKey;
    try {
      publicKey = fromBase64Url(message.publicKey);
    } catch {
      return this.fail('key');
    }
    if (publicKey.length !== 32 || keyIdOf(keyring.sodium, publicKey) !== message.keyId) return this.fail('key');
    const previousKeyId = keyring.peers.get(message.from)?.keyId ?? null;
    const changed = this.learn(message.from, publicKey);
    const member = this.members.get(message.from);
    if ((changed || message.changed) && member) {
      // The key it replaced is known when it changed during this session; from
      // the server's word alone (`changed`), any check done in this
      // consultation held the old key, and so no longer holds.
      const checkedBefore = previousKeyId !== null && previousKeyId !== message.keyId
        ? this.wasChecked(previousKeyId)
        : this.checked.length > 0 && !this.wasChecked(message.keyId);
      /** @type {KeyChange} */
      const detail = { ...member, previousKeyId: changed ? previousKeyId : null, checkedBefore };
      this.dispatchEvent(new CustomEvent('key-changed', { detail }));
    }
    this.refresh();
  }

  /**
   * @param {string} participant
   * @param {Uint8Array} publicKey
   * @returns {boolean} whether it replaced another key of this participant
   */
  learn(participant, publicKey) {
    const keyring = /** @type {Keyring} */ (this.keyring);
    let result;
    try {
      result = keyring.setPeer(participant, publicKey);
    } catch {
      this.fail('key');
      return false;
    }
    this.rememberKey(publicKey);
    this.dispatchEvent(new CustomEvent('keys'));
    const waiting = this.early.get(participant) ?? [];
    this.early.delete(participant);
    for (const frame of waiting) this.signal(frame);
    return result.changed;
  }

  /**
   * Keeps a peer's public key on this device, for reading its chat later.
   * @param {Uint8Array} publicKey
   */
  rememberKey(publicKey) {
    const text = toBase64Url(publicKey);
    if (this.seen.includes(text)) return;
    this.seen = [...this.seen, text].slice(-MAX_SEEN);
    const consultation = this.client.welcome?.consultation.id;
    if (this.db && consultation) write(this.db, SEEN, consultation, this.seen).catch(() => {});
  }

  /**
   * Works out who is reachable now: tells the page of every peer that
   * became so (first time, or back after a drop of either side), and moves
   * the call code on.
   */
  refresh() {
    /** @type {Member[]} */
    const arrived = [];
    for (const member of this.members.values()) {
      member.ready = this.isReady(member);
      if (member.ready && !this.reachable.has(member.participant)) arrived.push(member);
    }
    this.reachable = new Set(this.readyPeers().map((member) => member.participant));
    if (this.confirmed) this.sendAll(/** @type {CallCode} */ (this.code).update(this.view()));
    for (const member of arrived) {
      this.dispatchEvent(new CustomEvent('peer-ready', { detail: member }));
      const waiting = this.pending.get(member.participant) ?? [];
      this.pending.delete(member.participant);
      for (const detail of waiting) this.dispatchEvent(new CustomEvent('signal', { detail }));
      const profile = this.profile();
      if (profile && typeof profile.name === 'string') this.send(member.participant, { kind: 'profile', name: profile.name });
    }
  }

  /** Key id → public key of everyone reachable, this device included. */
  view() {
    const keyring = /** @type {Keyring} */ (this.keyring);
    /** @type {Map<string, Uint8Array>} */
    const view = new Map([[keyring.keyId, keyring.publicKey]]);
    for (const member of this.members.values()) {
      const peer = member.ready ? keyring.peers.get(member.participant) : undefined;
      if (peer) view.set(peer.keyId, peer.publicKey);
    }
    return view;
  }

  /** @param {import('./e2e.js').Outgoing[]} outgoing  addressed by key id */
  sendAll(outgoing) {
    for (const { to, message } of outgoing) {
      const member = [...this.members.values()].find((m) => m.ready && m.keyId === to);
      if (member) this.send(member.participant, message);
    }
  }

  /**
   * Seals a message for one participant and sends it.
   * @param {string} participant
   * @param {SignalMessage} message
   * @returns {boolean} whether it went out (false: no key for them, or not reachable now)
   */
  send(participant, message) {
    const member = this.members.get(participant);
    if (!this.keyring || !member?.ready || !this.client.connected) return false;
    try {
      this.client.signal(this.keyring.sealSignal(participant, message));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Sends a message to every reachable peer.
   * @param {SignalMessage} message
   */
  broadcast(message) {
    for (const member of this.readyPeers()) this.send(member.participant, message);
  }

  /** @param {any} frame  a `signal` from the server */
  signal(frame) {
    const keyring = /** @type {Keyring} */ (this.keyring);
    if (typeof frame?.from !== 'string') return;
    if (!keyring.peers.has(frame.from) || keyring.peers.get(frame.from)?.keyId !== frame.senderKeyId) {
      // Its key is on the way (or it is someone who left): keep a few for when it comes.
      const list = this.early.get(frame.from);
      if (list) {
        if (list.length < MAX_EARLY) list.push(frame);
      } else if (this.early.size < MAX_EARLY_PEERS) {
        this.early.set(frame.from, [frame]);
      }
      return;
    }
    /** @type {SignalMessage} */
    let message;
    try {
      message = keyring.openSignal(frame);
    } catch {
      return this.fail('signal');
    }
    const from = frame.from;
    const role = this.members.get(from)?.role;
    switch (message.kind) {
      case 'commit':
      case 'reveal':
        if (this.confirmed) this.sendAll(/** @type {CallCode} */ (this.code).receive(frame.senderKeyId, message));
        else /** @type {CallCode} */ (this.code).receive(frame.senderKeyId, message);
        break;
      case 'profile': {
        const member = this.members.get(from);
        if (member && 'name' in message) member.name = message.name;
        this.dispatchEvent(new CustomEvent('profile', { detail: { from, name: /** @type {any} */ (message).name } }));
        break;
      }
      case 'media': {
        const { video, audio } = /** @type {{video: boolean, audio?: boolean}} */ (/** @type {unknown} */ (message));
        this.dispatchEvent(new CustomEvent('media', { detail: { from, video, audio } }));
        break;
      }
      case 'offer':
      case 'answer':
      case 'ice': {
        const detail = { from, role, message };
        if (this.members.get(from)?.ready) {
          this.dispatchEvent(new CustomEvent('signal', { detail }));
        } else {
          // Before this side saw the roster that makes the sender reachable (so before
          // the page made its connection with them): handed on right after `peer-ready`.
          const list = this.pending.get(from) ?? [];
          if (list.length < MAX_EARLY && (list.length > 0 || this.pending.size < MAX_EARLY_PEERS)) this.pending.set(from, [...list, detail]);
        }
        break;
      }
      default:
        // A kind this client does not know: ignored.
    }
  }

  /** The socket dropped: nothing is reachable until the server has this key again. */
  disconnected() {
    // The others see this device leave and come back, and start a new round
    // of the call code then; so does this device (never reusing a nonce it revealed).
    this.code?.reset();
    this.confirmed = false;
    this.announced = false;
    this.reachable = new Set();
    for (const member of this.members.values()) member.ready = false;
  }

  /** @param {string} what  a short reason, never content */
  fail(what) {
    this.dispatchEvent(new CustomEvent('failure', { detail: what }));
  }

  /** Stops listening and forgets every session key. */
  close() {
    this.closed = true;
    for (const [type, handler] of Object.entries(this.handlers)) this.client.removeEventListener(type, handler);
    this.keyring?.wipe();
    this.code?.reset();
    this.db?.close();
  }
}
