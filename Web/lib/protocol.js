// @ts-check
/**
 * Samrom's signalling protocol v2 (docs/protocol.md) over one WebSocket,
 * without any DOM: lib/room.js (keys, sealed signals, the call code),
 * lib/rtc.js and the pages build on it.
 *
 *     import { SignallingClient } from './protocol.js';
 *     const client = new SignallingClient();
 *     const welcome = await client.connect({ token });
 *     client.addEventListener('admitted', () => …);
 *
 * Every server message is dispatched as a `CustomEvent` named by its `type`
 * (`lobby`, `knock`, `admitted`, `roster`, `key`, `signal`, `chat`,
 * `chat-ack`, `history`, …) with the parsed message as `detail`; `error`
 * events carry `{code, message}`, and a `closed` event carries
 * `{code, reason}` when the socket ends. The server relays call set-up it
 * cannot read: offers, answers, ICE candidates and the rest travel only as
 * sealed `signal` boxes (lib/e2e.js), never in the clear.
 *
 * After a welcome, a socket that drops (a network change, a server restart,
 * a silent half-open connection) is reopened by itself, with the resume token
 * of the latest welcome (or what `reconnectWith` returns), after a capped
 * exponential backoff with jitter: `reconnecting` (detail `{attempt, delay}`)
 * when it starts waiting, `reconnected` (detail: the new welcome) when it is
 * back, `lost` (detail `{code, message}`) when the server refuses to take it
 * back (`invalid-token`, `expired`, `ended`, …). `close()`, `ended` and
 * `denied` stop it.
 */

/**
 * @typedef {{consultation: string} | {token: string} | {resume: string}} Credential
 * @typedef {'veileder' | 'deltaker' | 'tolk'} Role
 * @typedef {{participant: string, role: Role}} Participant
 * @typedef {{urls: string | string[], username?: string, credential?: string}} IceServer
 * @typedef {object} Welcome
 * @property {'welcome'} type
 * @property {number} v
 * @property {Participant} you
 * @property {{id: string, expiresAt: string, title?: string}} consultation
 * @property {string} resume
 * @typedef {object} Admitted  in the call: the ICE servers come only now (TURN credentials valid at most an hour)
 * @property {'admitted'} type
 * @property {IceServer[]} iceServers
 * @property {RTCIceTransportPolicy} iceTransportPolicy  `relay`: TURN only, so no one learns another's address
 * @typedef {{participant: string, role: Role, keyId: string | null}} RosterEntry
 * @typedef {object} Roster  everyone connected in the call, the receiver included; veileder first
 * @property {'roster'} type
 * @property {RosterEntry[]} participants
 * @typedef {object} KeyAnnouncement  another participant's public key for this consultation
 * @property {'key'} type
 * @property {string} from
 * @property {Role} role
 * @property {string} publicKey  base64url, 32 bytes
 * @property {string} keyId
 * @property {boolean} changed  it replaced an earlier key of the same participant
 * @typedef {object} SignalFrame  a sealed box from one participant to this one
 * @property {'signal'} type
 * @property {string} from
 * @property {string} senderKeyId
 * @property {string} recipientKeyId
 * @property {string} nonce
 * @property {string} box
 * @typedef {object} ChatCopyFrame  this device's copy of a chat message, live or from the history
 * @property {string} from
 * @property {Role} senderRole
 * @property {string} clientMsgId
 * @property {string} senderKeyId
 * @property {string} recipientKeyId
 * @property {string} nonce
 * @property {string} ciphertext
 * @property {number} seq
 * @property {string} storedAt
 */

export const PROTOCOL_VERSION = 2;

/**
 * The `/ws` address of the server that served this page. With several
 * instances behind a load balancer, a consultation's route key (`?r=` in the
 * join link, or `route` in the veileder's list) makes every participant's
 * connection reach the instance that holds its call.
 * @param {string | null} [route]
 */
export function defaultUrl(route = new URLSearchParams(globalThis.location?.search ?? '').get('r')) {
  const url = new URL('/ws', globalThis.location.href);
  url.protocol = url.protocol === 'http:' ? 'ws:' : 'wss:';
  if (route && SAFE.test(route)) url.searchParams.set('r', route);
  return url.href;
}

/** Route keys and instance names: short, URL-safe. */
const SAFE = /^[A-Za-z0-9._-]{1,64}$/;
/** `moved` answers in a row before giving up on this attempt (a loop would be a misconfiguration). */
const MAX_MOVES = 8;

/**
 * Where a `moved` sends the client: the same `/ws`, with the call's route
 * key and the instance that holds it, for the load balancer.
 * @param {string} current
 * @param {{route?: unknown, instance?: unknown}} moved
 */
export function movedUrl(current, { route, instance }) {
  const url = new URL(current);
  if (typeof route === 'string' && SAFE.test(route)) url.searchParams.set('r', route);
  if (typeof instance === 'string' && SAFE.test(instance)) url.searchParams.set('i', instance);
  return url.href;
}

export class SignallingError extends Error {
  /**
   * @param {string} code  a stable code from docs/protocol.md, e.g. `invalid-token`
   * @param {string} message
   * @param {Record<string, unknown>} [detail]  the server's error message as sent (e.g. too-early's `startsAt`, `opensAt`)
   */
  constructor(code, message, detail = {}) {
    super(message);
    this.code = code;
    this.detail = detail;
  }
}

/**
 * How long to wait before reconnect attempt `attempt` (0-based): exponential
 * from `base`, capped at `cap`, with "equal jitter" (half fixed, half random)
 * so that many clients cut off at once do not all come back at once.
 * @param {number} attempt
 * @param {{base?: number, cap?: number, random?: () => number}} options  milliseconds (optional)
 * @returns {number} milliseconds
 */
export function reconnectDelay(attempt, { base = 500, cap = 15000, random = Math.random } = {}) {
  const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Refusals after which coming back with the same credential cannot work. */
const FINAL = new Set(['invalid-token', 'expired', 'ended', 'forbidden', 'session-replaced', 'room-full', 'bad-field', 'too-early']);
/** Errors on a welcomed connection that end it for good. */
const ENDING = new Set(['session-replaced', 'ended', 'expired', 'invalid-token']);

export class SignallingClient extends EventTarget {
  /** @param {string} [url] */
  constructor(url = defaultUrl()) {
    super();
    this.url = url;
    /** `moved` answers since the last welcome. */
    this.moves = 0;
    /** @type {WebSocket | null} */
    this.socket = null;
    /** @type {Welcome | null} */
    this.welcome = null;
    /** @type {Admitted | null} the latest admission: its ICE servers are the ones to use */
    this.admitted = null;
    /** In the call on the current connection (`admitted` came after its welcome). */
    this.inCall = false;
    /** @type {RosterEntry[]} the latest roster (stale while the socket is down) */
    this.roster = [];
    /**
     * The credential for coming back after a drop; by default the latest
     * welcome's resume token. A page may choose otherwise (a deltaker still
     * in the lobby knocks again with the link's token).
     * @type {() => Credential}
     */
    this.reconnectWith = () => ({ resume: /** @type {Welcome} */ (this.welcome).resume });
    /** Reconnecting is wanted: after a welcome, until close(), ended or denied. */
    this.keepAlive = false;
    this.attempt = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.retryTimer = undefined;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.heartbeat = undefined;
    this.lastHeard = 0;
    /** A silent socket is given up after this long (the server pings every few seconds). */
    this.silenceLimit = 20000;
    for (const type of ['ended', 'denied']) this.addEventListener(type, () => this.stop());
    // Another tab took over, or the consultation is over: coming back would be wrong.
    this.addEventListener('error', (event) => {
      if (ENDING.has(/** @type {CustomEvent} */ (event).detail.code)) this.stop();
    });
    // A browser that comes back online need not wait out its backoff.
    globalThis.addEventListener?.('online', () => {
      if (this.retryTimer !== undefined) {
        clearTimeout(this.retryTimer);
        this.retryTimer = undefined;
        this.retry();
      }
    });
  }

  /** Whether messages sent now reach the server. */
  get connected() {
    return this.socket?.readyState === WebSocket.OPEN && this.welcome !== null;
  }

  /**
   * Opens the socket and says hello; resolves with `welcome`, rejects with a
   * `SignallingError` (`invalid-token`, `expired`, `ended`, `forbidden`, …).
   * @param {Credential} credential
   * @returns {Promise<Welcome>}
   */
  async connect(credential) {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const welcome = await this.open(credential);
    this.keepAlive = true;
    this.attempt = 0;
    return welcome;
  }

  /**
   * @param {Credential} credential
   * @returns {Promise<Welcome>}
   */
  open(credential) {
    this.detach();
    this.inCall = false;
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.url);
      this.socket = socket;
      let settled = false;
      this.lastHeard = Date.now();
      socket.addEventListener('open', () => {
        socket.send(JSON.stringify({ type: 'hello', v: PROTOCOL_VERSION, ...credential }));
      });
      socket.addEventListener('message', (event) => {
        if (this.socket !== socket) return;
        this.lastHeard = Date.now();
        /** @type {any} */
        let message;
        try {
          message = JSON.parse(String(event.data));
        } catch {
          return;
        }
        if (message.type === 'admitted') {
          this.admitted = message;
          this.inCall = true;
        } else if (message.type === 'roster' && Array.isArray(message.participants)) {
          this.roster = message.participants;
        }
        if (!settled && message.type === 'moved') {
          // The call lives on another instance: say the same hello there.
          settled = true;
          this.detach();
          this.url = movedUrl(this.url, message);
          this.moves += 1;
          if (this.moves > MAX_MOVES) {
            this.moves = 0;
            reject(new SignallingError('moved', 'the call could not be reached on any instance'));
            return;
          }
          const wait = Math.min(30000, Math.max(0, Number(message.retryAfterMs) || 0));
          setTimeout(() => this.open(credential).then(resolve, reject), wait);
          return;
        }
        if (!settled && message.type === 'welcome') {
          settled = true;
          this.moves = 0;
          this.welcome = message;
          this.watch(socket);
          resolve(message);
        } else if (!settled && message.type === 'error') {
          settled = true;
          reject(new SignallingError(message.code, message.message, message));
        } else if (message.type === 'welcome') {
          this.welcome = message;
        }
        this.dispatchEvent(new CustomEvent(message.type, { detail: message }));
      });
      socket.addEventListener('close', (event) => {
        if (this.socket !== socket) return;
        this.socket = null;
        this.inCall = false;
        clearInterval(this.heartbeat);
        if (!settled) {
          settled = true;
          reject(new SignallingError('closed', `the connection closed (${event.code})`));
        }
        this.dispatchEvent(new CustomEvent('closed', { detail: { code: event.code, reason: event.reason } }));
        if (this.keepAlive && this.retryTimer === undefined && event.code !== 1000) this.scheduleRetry();
      });
    });
  }

  /**
   * Pings now and then; a socket that has been silent too long is given up
   * (a half-open TCP connection after a network change can take minutes to
   * report itself closed).
   * @param {WebSocket} socket
   */
  watch(socket) {
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      if (this.socket !== socket) return;
      if (Date.now() - this.lastHeard > this.silenceLimit) {
        this.detach();
        this.dispatchEvent(new CustomEvent('closed', { detail: { code: 1006, reason: 'silent' } }));
        if (this.keepAlive && this.retryTimer === undefined) this.scheduleRetry();
      } else {
        this.ping();
      }
    }, this.silenceLimit / 4);
  }

  /** Forgets the current socket without waiting for its closing handshake. */
  detach() {
    clearInterval(this.heartbeat);
    this.inCall = false;
    const socket = this.socket;
    this.socket = null;
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(1000);
  }

  scheduleRetry() {
    const delay = reconnectDelay(this.attempt);
    this.dispatchEvent(new CustomEvent('reconnecting', { detail: { attempt: this.attempt, delay } }));
    this.attempt += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.retry();
    }, delay);
  }

  async retry() {
    if (!this.keepAlive) return;
    try {
      const welcome = await this.open(this.reconnectWith());
      this.attempt = 0;
      this.dispatchEvent(new CustomEvent('reconnected', { detail: welcome }));
    } catch (error) {
      const code = error instanceof SignallingError ? error.code : 'closed';
      if (FINAL.has(code)) {
        this.stop();
        const detail = error instanceof SignallingError ? error.detail : {};
        this.dispatchEvent(new CustomEvent('lost', { detail: { ...detail, code, message: /** @type {Error} */ (error).message } }));
      } else if (this.keepAlive && this.retryTimer === undefined) {
        // A refused hello also closes the socket; schedule once.
        this.scheduleRetry();
      }
    }
  }

  /** No more reconnecting. */
  stop() {
    this.keepAlive = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    clearInterval(this.heartbeat);
  }

  /**
   * Sends one message; quietly drops it when the socket is not open (the
   * caller learns of that from the `closed` event).
   * @param {string} type
   * @param {Record<string, unknown>} [fields]
   */
  send(type, fields = {}) {
    if (this.socket?.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type, ...fields }));
    }
  }

  /**
   * @param {string} participant
   * @param {string | null} [identification]  how the person was identified: known, id-document or id-porten (none: not recorded)
   */
  admit(participant, identification = null) {
    this.send('admit', identification ? { participant, identification } : { participant });
  }
  /** @param {string} participant */
  deny(participant) { this.send('deny', { participant }); }
  /**
   * A short message to someone waiting in the lobby, carried by the server
   * (they have no key yet) and kept nowhere.
   * @param {string} participant
   * @param {string} text  1 to 200 characters
   */
  hold(participant, text) { this.send('hold', { participant, text }); }
  /** @param {string} publicKey  this device's X25519 key for the consultation, base64url */
  key(publicKey) { this.send('key', { publicKey }); }
  /** @param {import('./e2e.js').SealedSignal} sealed  a box for one participant in the call */
  signal(sealed) { this.send('signal', { ...sealed }); }
  /** @param {import('./e2e.js').ChatFrame} frame  one copy per recipient key, one to this device's own */
  chat(frame) { this.send('chat', { ...frame }); }
  /**
   * @param {number} [afterSeq]
   * @param {number} [limit]
   */
  history(afterSeq, limit) { this.send('history', { afterSeq, limit }); }
  leave() {
    this.stop();
    this.send('leave');
  }
  end() { this.send('end'); }
  /**
   * The owning veileder says whether video is used in the call now (anyone's
   * camera): not relayed, only counted for the anonymous figures.
   * @param {boolean} video
   */
  callMedia(video) { this.send('call-media', { video }); }
  ping() { this.send('ping'); }

  close() {
    this.stop();
    this.socket?.close(1000);
  }
}
