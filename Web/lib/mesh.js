// @ts-check
/**
 * The call of this device with everyone else in it, without DOM: one
 * {@link Call} (lib/rtc.js) per other participant, a mesh of up to six. It
 * follows the room (lib/room.js): a peer that becomes reachable gets a call
 * (or keeps the one it had: a page or socket that came back, and rtc.js
 * restarts ICE); a peer gone from the roster keeps its call for a while, in
 * case it comes back, and loses it after that.
 *
 *     const mesh = new Mesh(room, client, { role: 'deltaker', stream });
 *     mesh.addEventListener('stream', (e) => …e.detail.participant, e.detail.stream…);
 *
 * Events (each detail names the `participant`):
 * - `stream` ({participant, stream}): their media arrived (again);
 * - `state` ({participant, state}): their RTCPeerConnection's connectionState;
 * - `fingerprint` ({participant, ok}): whether their DTLS certificate is the
 *   one in the SDP they sent sealed (`null`: this browser cannot tell);
 * - `call` ({participant}): a call with them was made (a new Call object).
 *
 * Who makes the first offer: the veileder towards everyone, else the higher
 * participant id yields (`politeTowards`). A page that came back into a call
 * the others are still in (`resumed`) makes the first offer to everyone it
 * finds there, since only a new offer tells their pages.
 */
import { Call, politeTowards } from './rtc.js';

/** @typedef {import('./room.js').SecureRoom} SecureRoom */
/** @typedef {import('./room.js').Member} Member */
/** @typedef {import('./protocol.js').SignallingClient} SignallingClient */

/**
 * How long a call with someone who dropped out of the roster is kept for
 * their return: as long as the server keeps their seat (`resumeGrace`).
 */
export const KEEP_GONE_MS = 120_000;

export class Mesh extends EventTarget {
  /**
   * @param {SecureRoom} room
   * @param {SignallingClient} client
   * @param {object} options
   * @param {string} options.role  this device's role in the call
   * @param {MediaStream | null} [options.stream]  camera and microphone (none: receive only)
   * @param {boolean} [options.resumed]  this page came back (reloaded) into a call already going on
   */
  constructor(room, client, { role, stream = null, resumed = false }) {
    super();
    this.room = room;
    this.client = client;
    this.role = role;
    this.stream = stream;
    /** @type {MediaStreamTrack | null} what goes out as video instead of the camera (a shared screen) */
    this.screenTrack = null;
    /** @type {Map<string, Call>} by participant id */
    this.calls = new Map();
    /** @type {Map<string, ReturnType<typeof setTimeout>>} calls kept for someone gone from the roster */
    this.goneTimers = new Map();
    /**
     * What each call last said of its media and its DTLS check: said again to
     * the page when that person is back in the roster on the same call (their
     * tile was gone meanwhile, and a running connection says nothing new).
     * @type {Map<string, {stream?: MediaStream, ok?: boolean | null}>}
     */
    this.latest = new Map();
    /**
     * After a reload: who was in the call when this page came back (the
     * first roster). `null` until that roster came; empty on a fresh page.
     * @type {Set<string> | null}
     */
    this.found = resumed ? null : new Set();
    /** @type {Set<string>} those found there to whom this page made the first offer */
    this.led = new Set();
    this.closed = false;

    /** @param {Event} event */
    const detail = (event) => /** @type {CustomEvent} */ (event).detail;
    this.roomHandlers = {
      roster: () => this.foundOnReturn(),
      'peer-ready': (/** @type {Event} */ e) => this.connect(detail(e)),
      'peer-gone': (/** @type {Event} */ e) => this.away(detail(e).participant),
    };
    for (const [type, handler] of Object.entries(this.roomHandlers)) room.addEventListener(type, handler);
    // Fresh TURN credentials (a reconnect, or the renewal before they expire): for the next ICE round.
    this.onAdmitted = () => {
      const admitted = this.client.admitted;
      if (!admitted) return;
      for (const call of this.calls.values()) call.updateIceServers(admitted.iceServers, admitted.iceTransportPolicy);
    };
    client.addEventListener('admitted', this.onAdmitted);
  }

  /**
   * A peer is reachable: the call with them, made now or kept from before.
   * @param {Member} peer
   */
  connect(peer) {
    if (this.closed) return;
    clearTimeout(this.goneTimers.get(peer.participant));
    this.goneTimers.delete(peer.participant);
    const running = this.calls.get(peer.participant);
    if (running && !running.closed) {
      // rtc.js recovers the connection itself on `peer-ready`; the page gets back what it had.
      const latest = this.latest.get(peer.participant);
      if (latest?.stream) this.tell('stream', { participant: peer.participant, stream: latest.stream });
      if (latest && latest.ok !== undefined) this.tell('fingerprint', { participant: peer.participant, ok: latest.ok });
      return;
    }
    const leads = this.wasThere(peer.participant) && !this.led.has(peer.participant);
    if (leads) this.led.add(peer.participant);
    const admitted = this.client.admitted;
    const call = new Call(this.room, {
      peer: peer.participant,
      polite: politeTowards({ participant: this.room.me ?? '', role: this.role }, peer),
      leads,
      iceServers: admitted?.iceServers ?? [],
      iceTransportPolicy: admitted?.iceTransportPolicy,
      stream: this.stream ?? undefined,
    });
    const participant = peer.participant;
    this.latest.set(participant, {});
    call.addEventListener('remote-stream', (e) => {
      const stream = /** @type {CustomEvent} */ (e).detail;
      this.remember(participant, { stream });
      this.tell('stream', { participant, stream });
    });
    call.addEventListener('state', (e) => this.tell('state', { participant, state: /** @type {CustomEvent} */ (e).detail }));
    call.addEventListener('fingerprint', (e) => {
      const ok = /** @type {CustomEvent} */ (e).detail?.ok ?? null;
      this.remember(participant, { ok });
      this.tell('fingerprint', { participant, ok });
    });
    this.calls.set(participant, call);
    // Someone who comes while the screen is shared sees the screen too.
    if (this.screenTrack) call.replaceVideo(this.screenTrack, this.stream ?? new MediaStream());
    this.tell('call', { participant });
  }

  /**
   * @param {string} participant
   * @param {{stream?: MediaStream, ok?: boolean | null}} news
   */
  remember(participant, news) {
    this.latest.set(participant, { ...this.latest.get(participant), ...news });
  }

  /**
   * Who was in the call when this page came back after a reload: the first
   * roster it sees (the room has it in `members` by the time it says
   * `peer-ready` for them). Empty on a page that did not come back.
   * @returns {Set<string>}
   */
  foundOnReturn() {
    this.found ??= new Set([...this.room.members.values()].filter((member) => !member.self).map((member) => member.participant));
    return this.found;
  }

  /**
   * Whether a participant was already in the call when this page came back
   * (reloaded): this page makes the first offer to them, and the grid does
   * not announce them as joining.
   * @param {string} participant
   */
  wasThere(participant) {
    return this.foundOnReturn().has(participant);
  }

  /**
   * Someone left the roster: their call is kept for a while (a dropped page
   * comes back into it), then closed.
   * @param {string} participant
   */
  away(participant) {
    if (!this.calls.has(participant) || this.goneTimers.has(participant)) return;
    this.goneTimers.set(participant, setTimeout(() => {
      this.goneTimers.delete(participant);
      this.calls.get(participant)?.close();
      this.calls.delete(participant);
      this.latest.delete(participant);
    }, KEEP_GONE_MS));
  }

  /**
   * The call with a participant, if one is going on.
   * @param {string} participant
   * @returns {Call | null}
   */
  call(participant) {
    const call = this.calls.get(participant);
    return call && !call.closed ? call : null;
  }

  /**
   * Sends `track` as this device's video to everyone from now on (a shared
   * screen; `null` with `screen` false: back to the camera).
   * @param {MediaStreamTrack | null} track
   * @param {{screen: boolean}} options
   */
  async sendVideo(track, { screen }) {
    this.screenTrack = screen ? track : null;
    const stream = this.stream ?? new MediaStream();
    await Promise.all([...this.calls.values()].filter((call) => !call.closed).map((call) => call.replaceVideo(track, stream)));
  }

  /**
   * @param {string} type
   * @param {object} detail
   */
  tell(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  close() {
    this.closed = true;
    for (const [type, handler] of Object.entries(this.roomHandlers)) this.room.removeEventListener(type, handler);
    this.client.removeEventListener('admitted', this.onAdmitted);
    for (const timer of this.goneTimers.values()) clearTimeout(timer);
    this.goneTimers.clear();
    for (const call of this.calls.values()) call.close();
    this.calls.clear();
    this.latest.clear();
  }
}
