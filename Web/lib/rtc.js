// @ts-check
/**
 * One peer-to-peer WebRTC connection with one other participant, without
 * DOM. Everything it says to the other side (offers, answers, ICE
 * candidates) goes out sealed to that participant's key through
 * lib/room.js (`signal`), and comes back opened from it: the server relays
 * boxes it cannot read. A call of several people is one `Call` per pair.
 *
 * Uses the "perfect negotiation" pattern: the polite peer yields when both
 * offer at once, the impolite one does not, so either side can renegotiate
 * (camera off, screen sharing) at any time. The veileder is impolite towards
 * everyone (`politeTowards`). The first offer always comes from the impolite
 * side: the polite side waits for it (its tracks join the offered
 * transceivers), because a glare at the very start can strand the ICE
 * candidates of a rolled-back offer.
 *
 *     const call = new Call(room, { peer: participant, polite: false, iceServers: client.admitted.iceServers, stream });
 *     call.addEventListener('remote-stream', (e) => video.srcObject = e.detail);
 *
 * Events: `remote-stream` (detail: MediaStream), `state` (detail: the
 * RTCPeerConnection's connectionState), `ice-restart` (a new ICE round on the
 * same call, detail: how many so far), `fingerprint` (detail `{ok}`, once per
 * RTCPeerConnection when it first connects: whether the DTLS certificate the
 * other side uses is the one named in the SDP it sent sealed; `null`: this
 * browser cannot tell).
 *
 * The fingerprint check: the SDP came end to end sealed to the other side's
 * key, which the call code vouches for, so its `a=fingerprint` is theirs; the
 * browser already refuses a DTLS handshake with another certificate, and this
 * checks again from the page, so that a media path through anyone else
 * (a TURN relay, the network) cannot go unnoticed even in a browser that got
 * that wrong.
 *
 * Resilience: a connection that fails, or stays disconnected for a few
 * seconds, restarts ICE (new candidates, same call). When the peer becomes
 * reachable again (`peer-ready` from the room: the signalling socket of
 * either side came back, and the server has both keys again), an offer lost
 * on the way is rolled back and ICE restarted if the media path is not
 * connected. A description from a new remote session (the other page was
 * reloaded: the `o=` line of its SDP names another session) replaces the
 * RTCPeerConnection with a fresh one.
 */

/**
 * Which side of a pair yields when both offer at once: the veileder never
 * does; between two others, the one with the higher participant id does.
 * @param {{participant: string, role: string}} own
 * @param {{participant: string, role: string}} peer
 * @returns {boolean}
 */
export function politeTowards(own, peer) {
  if (own.role === 'veileder') return false;
  if (peer.role === 'veileder') return true;
  return own.participant > peer.participant;
}

/**
 * The session id of an SDP (`o=<user> <session id> …`): a new one means a new
 * RTCPeerConnection on the other side.
 * @param {string} sdp
 * @returns {string | null}
 */
export function sdpSession(sdp) {
  return /^o=\S+ (\d+) /m.exec(sdp)?.[1] ?? null;
}

/**
 * @typedef {'good' | 'weak' | 'none'} QualityLevel
 * @typedef {object} QualitySample  measured over the last few seconds
 * @property {RTCPeerConnectionState} connectionState
 * @property {number} bytesPerSecond  everything received (audio and video)
 * @property {number | null} lossFraction  packets lost / packets expected, 0…1
 * @property {number | null} roundTripSeconds  of the selected candidate pair
 * @property {number | null} framesPerSecond  of the received video, when there is video
 */

/**
 * How good the call is, from what getStats shows: `none` when nothing
 * arrives, `weak` with noticeable loss, delay or stutter, else `good`.
 * @param {QualitySample} sample
 * @returns {QualityLevel}
 */
export function connectionQuality({ connectionState, bytesPerSecond, lossFraction, roundTripSeconds, framesPerSecond }) {
  if (connectionState !== 'connected' || bytesPerSecond < 1000) return 'none';
  if ((lossFraction ?? 0) > 0.05) return 'weak';
  if ((roundTripSeconds ?? 0) > 0.4) return 'weak';
  // A camera that is off still sends a frame now and then; stutter is 1 to 10 frames a second.
  if (framesPerSecond !== null && framesPerSecond >= 1 && framesPerSecond < 10) return 'weak';
  return 'good';
}

/**
 * The SHA-256 fingerprints an SDP names for its sender's DTLS certificate
 * (`a=fingerprint:sha-256 AB:CD:…`, at session or media level, RFC 8122),
 * as lower-case hex without colons; other hash functions and malformed
 * lines are left out.
 * @param {string} sdp
 * @returns {string[]}
 */
export function sdpFingerprints(sdp) {
  /** @type {Set<string>} */
  const found = new Set();
  for (const [, hash, value] of sdp.matchAll(/^a=fingerprint:(\S+) +([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2})*)[ \t]*\r?$/gm)) {
    const hex = value.replaceAll(':', '').toLowerCase();
    if (hash.toLowerCase() === 'sha-256' && hex.length === 64) found.add(hex);
  }
  return [...found];
}

/**
 * A SHA-256 digest as lower-case hex: from its bytes, or from hex in either
 * case with or without colons. Null when it is not 32 bytes.
 * @param {string | ArrayBuffer | ArrayBufferView} digest
 * @returns {string | null}
 */
function digestHex(digest) {
  let hex;
  if (typeof digest === 'string') {
    hex = digest.replaceAll(':', '').toLowerCase();
  } else {
    const bytes = digest instanceof ArrayBuffer ? new Uint8Array(digest) : new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
    hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  }
  return /^[0-9a-f]{64}$/.test(hex) ? hex : null;
}

/**
 * Whether the DTLS certificate the other side presented is one its SDP
 * names. The end-entity certificate (first in the chain, the one DTLS
 * fingerprints name) must match one of the SDP's SHA-256 fingerprints; an
 * SDP may name several (RFC 8122: any one of them will do).
 * @param {string} sdp  the remote description, as it came sealed
 * @param {Array<string | ArrayBuffer | ArrayBufferView>} certificateDigests  SHA-256 of the
 *   remote certificate chain, end-entity first: the bytes, or hex (any case, colons or not)
 * @returns {boolean | null}  null: nothing to compare (no SHA-256 fingerprint
 *   in the SDP, or no certificate digest of 32 bytes)
 */
export function fingerprintMatches(sdp, certificateDigests) {
  const named = sdpFingerprints(sdp);
  const presented = certificateDigests.length > 0 ? digestHex(certificateDigests[0]) : null;
  if (named.length === 0 || presented === null) return null;
  return named.includes(presented);
}

/**
 * Checks every DTLS transport of a connected RTCPeerConnection: the remote
 * certificate it got (`getRemoteCertificates`, Chromium) against the remote
 * description's fingerprints. False if any does not match; null if the
 * browser does not show the certificates (or has no `crypto.subtle`).
 * @param {RTCPeerConnection} pc
 * @returns {Promise<boolean | null>}
 */
export async function remoteFingerprintMatches(pc) {
  const sdp = pc.currentRemoteDescription?.sdp ?? pc.remoteDescription?.sdp;
  const subtle = globalThis.crypto?.subtle;
  if (!sdp || !subtle) return null;
  /** @type {Set<RTCDtlsTransport>} */
  const transports = new Set();
  for (const transceiver of pc.getTransceivers()) {
    const transport = transceiver.sender.transport ?? transceiver.receiver.transport;
    if (transport) transports.add(transport);
  }
  const sctp = pc.sctp?.transport;
  if (sctp) transports.add(sctp);
  if (transports.size === 0) return null;
  /** @type {boolean | null} */
  let verdict = true;
  for (const transport of transports) {
    // Not in every browser (Firefox and Safari lack it): then nobody can tell.
    if (typeof transport.getRemoteCertificates !== 'function') return null;
    const certificates = transport.getRemoteCertificates();
    const digests = await Promise.all(certificates.map((certificate) => subtle.digest('SHA-256', certificate)));
    const ok = fingerprintMatches(sdp, digests);
    if (ok === false) return false;
    if (ok === null) verdict = null;
  }
  return verdict;
}

/** @typedef {import('./room.js').SecureRoom} SecureRoom */

export class Call extends EventTarget {
  /**
   * @param {SecureRoom} room
   * @param {object} options
   * @param {string} options.peer  the other participant's id
   * @param {boolean} options.polite
   * @param {RTCIceServer[]} [options.iceServers]  only what the server offered (`admitted`): never a public STUN server
   * @param {MediaStream} [options.stream]
   * @param {RTCIceTransportPolicy} [options.iceTransportPolicy]  `relay`: TURN only, neither side learns the other's address
   * @param {boolean} [options.leads]  make the first offer although polite: this page came back
   *   (reloaded) into a call the other side is still in, and only a new offer tells them
   */
  constructor(room, { peer, polite, iceServers = [], stream, iceTransportPolicy = 'all', leads = false }) {
    super();
    this.room = room;
    this.peer = peer;
    this.polite = polite;
    /** @type {RTCConfiguration} */
    this.configuration = { iceServers, iceTransportPolicy };
    this.stream = stream;
    this.leads = !polite || leads;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.closed = false;
    /** The polite side offers only once the first offer has been answered. */
    this.mayOffer = this.leads;
    /** @type {RTCRtpSender | undefined} where this side's video goes, once known */
    this.videoSender = undefined;
    /** @type {string | null} the other side's SDP session id */
    this.remoteSession = null;
    this.iceRestarts = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.disconnectedTimer = undefined;
    /** @type {{at: number, bytes: number, lost: number, received: number, frames: number} | null} */
    this.lastSample = null;
    /**
     * The fingerprint check of the current RTCPeerConnection (the last
     * `fingerprint` event's `ok`); undefined until it first connects.
     * @type {boolean | null | undefined}
     */
    this.fingerprint = undefined;
    this.pc = this.makePeerConnection(stream?.getTracks() ?? []);

    /** @param {Event} event */
    const detail = (event) => /** @type {CustomEvent} */ (event).detail;
    this.handlers = {
      signal: (/** @type {Event} */ e) => {
        const { from, message } = detail(e);
        if (from !== this.peer) return;
        if (message.kind === 'offer') this.receiveOffer(message.sdp);
        else if (message.kind === 'answer') this.receiveAnswer(message.sdp);
        else if (message.kind === 'ice') this.receiveCandidate(message.candidate);
      },
      'peer-ready': (/** @type {Event} */ e) => { if (detail(e).participant === this.peer) this.recover(); },
    };
    for (const [type, handler] of Object.entries(this.handlers)) room.addEventListener(type, handler);
  }

  /**
   * New ICE servers (a fresh `admitted` after a reconnect carries fresh TURN
   * credentials): used from the next ICE gathering on.
   * @param {RTCIceServer[]} iceServers
   * @param {RTCIceTransportPolicy} [iceTransportPolicy]
   */
  updateIceServers(iceServers, iceTransportPolicy = this.configuration.iceTransportPolicy) {
    this.configuration = { ...this.configuration, iceServers, iceTransportPolicy };
    try {
      this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers, iceTransportPolicy });
    } catch {
      // A configuration the running connection cannot take: the next one will.
    }
  }

  /**
   * A peer connection sending `tracks`, wired to this call.
   * @param {MediaStreamTrack[]} tracks
   * @returns {RTCPeerConnection}
   */
  makePeerConnection(tracks) {
    const pc = new RTCPeerConnection(this.configuration);
    pc.addEventListener('icecandidate', ({ candidate }) => {
      if (candidate && pc === this.pc) this.room.send(this.peer, { kind: 'ice', candidate: candidate.toJSON() });
    });
    pc.addEventListener('track', ({ streams }) => {
      if (streams[0] && pc === this.pc) this.dispatchEvent(new CustomEvent('remote-stream', { detail: streams[0] }));
    });
    let fingerprintChecked = false;
    pc.addEventListener('connectionstatechange', () => {
      if (pc !== this.pc) return;
      this.watchConnection();
      this.dispatchEvent(new CustomEvent('state', { detail: pc.connectionState }));
      // Once per connection: an ICE restart keeps the DTLS transport and its certificate.
      if (pc.connectionState === 'connected' && !fingerprintChecked) {
        fingerprintChecked = true;
        this.checkFingerprint(pc);
      }
    });
    pc.addEventListener('negotiationneeded', () => { if (pc === this.pc) this.negotiate(); });

    const stream = this.stream ?? new MediaStream();
    for (const track of tracks) {
      const sender = pc.addTrack(track, stream);
      if (track.kind === 'video') this.videoSender = sender;
    }
    // The first offer (the veileder's) asks for sound and video even when this
    // side sends neither (no camera, sound only, no permission): an offer
    // without media lines would connect nothing.
    if (this.leads) {
      for (const kind of ['audio', 'video']) {
        if (!tracks.some((track) => track.kind === kind)) pc.addTransceiver(kind, { direction: 'recvonly' });
      }
    }
    return pc;
  }

  /**
   * Compares the other side's DTLS certificate with the fingerprint in
   * their sealed SDP, and says how that went (`fingerprint`).
   * @param {RTCPeerConnection} pc  connected
   */
  async checkFingerprint(pc) {
    /** @type {boolean | null} */
    let ok = null;
    // Right at `connected` a transport may not show its certificate yet:
    // "cannot tell" is asked again a few times before it is the answer.
    for (let attempt = 0; attempt < 6; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 500));
      if (pc !== this.pc || this.closed) return;
      try {
        ok = await remoteFingerprintMatches(pc);
      } catch {
        ok = null;
      }
      if (ok !== null) break;
    }
    if (pc !== this.pc || this.closed) return;
    this.fingerprint = ok;
    this.dispatchEvent(new CustomEvent('fingerprint', { detail: { ok } }));
  }

  /**
   * The other side has a new RTCPeerConnection (its page was reloaded or
   * reopened): start over with a fresh one that sends the same tracks.
   */
  replacePeerConnection() {
    const old = this.pc;
    const tracks = old.getSenders().map((sender) => sender.track).filter((track) => track !== null);
    this.videoSender = undefined;
    this.remoteSession = null;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.lastSample = null;
    this.fingerprint = undefined;
    clearTimeout(this.disconnectedTimer);
    this.pc = this.makePeerConnection(/** @type {MediaStreamTrack[]} */ (tracks));
    old.close();
  }

  /** Restarts ICE when the media path failed, or stays disconnected for a few seconds. */
  watchConnection() {
    const state = this.pc.connectionState;
    clearTimeout(this.disconnectedTimer);
    if (state === 'failed') {
      this.restartIce();
    } else if (state === 'disconnected') {
      this.disconnectedTimer = setTimeout(() => {
        if (!this.closed && this.pc.connectionState === 'disconnected') this.restartIce();
      }, 3000);
    }
  }

  /**
   * The other side is reachable again (either side's signalling came back):
   * an offer that was lost on the way is rolled back, and ICE is restarted
   * unless media flows.
   */
  async recover() {
    if (this.closed || !this.mayOffer) return;
    try {
      if (this.pc.signalingState === 'have-local-offer' && !this.makingOffer) {
        await this.pc.setLocalDescription({ type: 'rollback' });
      }
      if (this.pc.connectionState !== 'connected') this.restartIce();
    } catch (error) {
      this.dispatchEvent(new CustomEvent('failure', { detail: String(error) }));
    }
  }

  async negotiate() {
    if (this.closed || !this.mayOffer) return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      const sdp = this.pc.localDescription?.sdp;
      if (sdp) this.room.send(this.peer, { kind: 'offer', sdp });
    } catch (error) {
      this.dispatchEvent(new CustomEvent('failure', { detail: String(error) }));
    } finally {
      this.makingOffer = false;
    }
  }

  /** @param {string} sdp */
  async receiveOffer(sdp) {
    if (this.closed) return;
    const session = sdpSession(sdp);
    if (this.remoteSession !== null && session !== this.remoteSession) this.replacePeerConnection();
    const collision = this.makingOffer || this.pc.signalingState !== 'stable';
    this.ignoreOffer = !this.polite && collision;
    if (this.ignoreOffer) return;
    const pc = this.pc;
    try {
      await pc.setRemoteDescription({ type: 'offer', sdp });
      this.remoteSession = session;
      await pc.setLocalDescription();
      const answer = pc.localDescription?.sdp;
      if (answer && pc === this.pc) this.room.send(this.peer, { kind: 'answer', sdp: answer });
      this.mayOffer = true;
    } catch (error) {
      this.dispatchEvent(new CustomEvent('failure', { detail: String(error) }));
    }
  }

  /** @param {string} sdp */
  async receiveAnswer(sdp) {
    if (this.closed || this.pc.signalingState !== 'have-local-offer') return;
    const session = sdpSession(sdp);
    if (this.remoteSession !== null && session !== this.remoteSession) {
      // A new page answered an offer meant for the old one: start over with it.
      this.replacePeerConnection();
      this.mayOffer = true;
      return;
    }
    try {
      await this.pc.setRemoteDescription({ type: 'answer', sdp });
      this.remoteSession = session;
    } catch (error) {
      this.dispatchEvent(new CustomEvent('failure', { detail: String(error) }));
    }
  }

  /** @param {RTCIceCandidateInit | null} candidate  null: the end of the other side's candidates */
  async receiveCandidate(candidate) {
    if (this.closed || candidate === null) return;
    try {
      await this.pc.addIceCandidate(candidate);
    } catch {
      // A candidate of an offer we ignored, or of the other side's previous
      // connection: nothing to do with it.
    }
  }

  /**
   * Sends `track` as this side's video from now on (the screen instead of
   * the camera, and back) on the same sender, so nothing is renegotiated and
   * the other side keeps decoding. Without a video sender yet (no camera),
   * the track is added, which renegotiates.
   * @param {MediaStreamTrack | null} track
   * @param {MediaStream} stream  announced with the track when it is added
   */
  async replaceVideo(track, stream) {
    const sender = this.pc.getSenders().find((candidate) => candidate.track?.kind === 'video') ?? this.videoSender;
    if (sender) {
      this.videoSender = sender;
      await sender.replaceTrack(track);
    } else if (track) {
      this.videoSender = this.pc.addTrack(track, stream);
    }
  }

  /** After a network change: new ICE candidates on the same call. */
  restartIce() {
    if (this.closed) return;
    this.iceRestarts += 1;
    this.pc.restartIce();
    this.dispatchEvent(new CustomEvent('ice-restart', { detail: this.iceRestarts }));
  }

  /**
   * A fresh measurement for the connection-quality indicator: call it every
   * few seconds; rates are over the time since the previous call.
   * @returns {Promise<QualitySample & {level: QualityLevel}>}
   */
  async quality() {
    const stats = await this.pc.getStats();
    let bytes = 0, lost = 0, received = 0, frames = 0, video = false;
    /** @type {number | null} */
    let roundTrip = null;
    /** @type {string | undefined} */
    let pairId;
    stats.forEach((report) => {
      if (report.type === 'inbound-rtp') {
        bytes += report.bytesReceived ?? 0;
        lost += Math.max(0, report.packetsLost ?? 0);
        received += report.packetsReceived ?? 0;
        if (report.kind === 'video') {
          video = true;
          frames += report.framesDecoded ?? 0;
        }
      } else if (report.type === 'transport' && report.selectedCandidatePairId) {
        pairId = report.selectedCandidatePairId;
      }
    });
    const pair = pairId ? stats.get(pairId) : undefined;
    if (pair && typeof pair.currentRoundTripTime === 'number') roundTrip = pair.currentRoundTripTime;
    const now = Date.now();
    const last = this.lastSample;
    this.lastSample = { at: now, bytes, lost, received, frames };
    const seconds = last ? Math.max(0.001, (now - last.at) / 1000) : 0;
    const expected = last ? (received - last.received) + (lost - last.lost) : 0;
    /** @type {QualitySample} */
    const sample = {
      connectionState: this.pc.connectionState,
      // The first measurement has nothing to compare with: assume what the state says.
      bytesPerSecond: last ? (bytes - last.bytes) / seconds : (bytes > 0 ? Infinity : 0),
      lossFraction: last && expected > 0 ? (lost - last.lost) / expected : null,
      roundTripSeconds: roundTrip,
      framesPerSecond: last && video ? (frames - last.frames) / seconds : null,
    };
    return { ...sample, level: connectionQuality(sample) };
  }

  /**
   * What is arriving: for a connection-quality indicator, and the tests.
   * @returns {Promise<{bytesReceived: number, framesDecoded: number, packetsLost: number}>}
   */
  async inboundVideo() {
    const stats = await this.pc.getStats();
    let result = { bytesReceived: 0, framesDecoded: 0, packetsLost: 0 };
    stats.forEach((report) => {
      if (report.type === 'inbound-rtp' && report.kind === 'video') {
        result = {
          bytesReceived: report.bytesReceived ?? 0,
          framesDecoded: report.framesDecoded ?? 0,
          packetsLost: report.packetsLost ?? 0,
        };
      }
    });
    return result;
  }

  close() {
    this.closed = true;
    clearTimeout(this.disconnectedTimer);
    for (const [type, handler] of Object.entries(this.handlers)) this.room.removeEventListener(type, handler);
    this.pc.close();
  }
}
