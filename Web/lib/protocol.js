// @ts-check
/**
 * Samrom's signalling protocol (docs/protocol.md) over one WebSocket, without
 * any DOM: the pages and `rtc.js` build on it.
 *
 *     import { SignallingClient } from './protocol.js';
 *     const client = new SignallingClient();
 *     const welcome = await client.connect({ token });
 *     client.addEventListener('admitted', () => …);
 *
 * Every server message is dispatched as a `CustomEvent` named by its `type`
 * (`lobby`, `knock`, `admitted`, `peer-joined`, `offer`, `chat`, …) with the
 * parsed message as `detail`; `error` events carry `{code, message}`, and a
 * `closed` event carries `{code, reason}` when the socket ends.
 */

/**
 * @typedef {{consultation: string} | {token: string} | {resume: string}} Credential
 * @typedef {{participant: string, role: 'veileder' | 'deltaker'}} Peer
 * @typedef {{urls: string[], username?: string, credential?: string}} IceServer
 * @typedef {object} Welcome
 * @property {'welcome'} type
 * @property {number} v
 * @property {Peer} you
 * @property {{id: string, expiresAt: string, title?: string}} consultation
 * @property {IceServer[]} iceServers
 * @property {Peer[]} peers
 * @property {string} resume
 */

export const PROTOCOL_VERSION = 1;

/** The `/ws` address of the server that served this page. */
export function defaultUrl() {
  const url = new URL('/ws', globalThis.location.href);
  url.protocol = url.protocol === 'http:' ? 'ws:' : 'wss:';
  return url.href;
}

export class SignallingError extends Error {
  /**
   * @param {string} code  a stable code from docs/protocol.md, e.g. `invalid-token`
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export class SignallingClient extends EventTarget {
  /** @param {string} [url] */
  constructor(url = defaultUrl()) {
    super();
    this.url = url;
    /** @type {WebSocket | null} */
    this.socket = null;
    /** @type {Welcome | null} */
    this.welcome = null;
  }

  /**
   * Opens the socket and says hello; resolves with `welcome`, rejects with a
   * `SignallingError` (`invalid-token`, `expired`, `ended`, `forbidden`, …).
   * @param {Credential} credential
   * @returns {Promise<Welcome>}
   */
  connect(credential) {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.url);
      this.socket = socket;
      let settled = false;
      socket.addEventListener('open', () => {
        socket.send(JSON.stringify({ type: 'hello', v: PROTOCOL_VERSION, ...credential }));
      });
      socket.addEventListener('message', (event) => {
        /** @type {any} */
        let message;
        try {
          message = JSON.parse(String(event.data));
        } catch {
          return;
        }
        if (!settled && message.type === 'welcome') {
          settled = true;
          this.welcome = message;
          resolve(message);
        } else if (!settled && message.type === 'error') {
          settled = true;
          reject(new SignallingError(message.code, message.message));
        }
        this.dispatchEvent(new CustomEvent(message.type, { detail: message }));
      });
      socket.addEventListener('close', (event) => {
        if (!settled) {
          settled = true;
          reject(new SignallingError('closed', `the connection closed (${event.code})`));
        }
        this.dispatchEvent(new CustomEvent('closed', { detail: { code: event.code, reason: event.reason } }));
      });
    });
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

  /** @param {string} participant */
  admit(participant) { this.send('admit', { participant }); }
  /** @param {string} participant */
  deny(participant) { this.send('deny', { participant }); }
  /** @param {string} sdp */
  offer(sdp) { this.send('offer', { sdp }); }
  /** @param {string} sdp */
  answer(sdp) { this.send('answer', { sdp }); }
  /** @param {RTCIceCandidateInit} candidate */
  ice(candidate) { this.send('ice', { candidate }); }
  /** @param {string} publicKey  base64url */
  key(publicKey) { this.send('key', { publicKey }); }
  /** @param {import('./e2e.js').Envelope} envelope */
  chat(envelope) { this.send('chat', { ...envelope }); }
  /**
   * @param {number} [afterSeq]
   * @param {number} [limit]
   */
  history(afterSeq, limit) { this.send('history', { afterSeq, limit }); }
  leave() { this.send('leave'); }
  end() { this.send('end'); }
  ping() { this.send('ping'); }

  close() {
    this.socket?.close(1000);
  }
}
