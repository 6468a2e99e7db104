// @ts-check
/**
 * One peer-to-peer WebRTC call over Samrom's signalling, without DOM.
 * Uses the "perfect negotiation" pattern: the deltaker is the polite peer
 * (it yields when both offer at once), the veileder the impolite one, so
 * either side can renegotiate (camera off, screen sharing) at any time. The
 * first offer always comes from the veileder: the polite side waits for it
 * (its tracks join the offered transceivers), because a glare at the very
 * start can strand the ICE candidates of a rolled-back offer.
 *
 *     const call = new Call(client, { polite: role === 'deltaker', iceServers: welcome.iceServers, stream });
 *     call.addEventListener('remote-stream', (e) => video.srcObject = e.detail);
 *
 * Events: `remote-stream` (detail: MediaStream), `state` (detail: the
 * RTCPeerConnection's connectionState).
 */

/** @typedef {import('./protocol.js').SignallingClient} SignallingClient */

export class Call extends EventTarget {
  /**
   * @param {SignallingClient} signalling
   * @param {object} options
   * @param {boolean} options.polite
   * @param {RTCIceServer[]} [options.iceServers]  only what the server offered: never a public STUN server
   * @param {MediaStream} [options.stream]
   * @param {RTCIceTransportPolicy} [options.iceTransportPolicy]
   */
  constructor(signalling, { polite, iceServers = [], stream, iceTransportPolicy = 'all' }) {
    super();
    this.signalling = signalling;
    this.polite = polite;
    this.pc = new RTCPeerConnection({ iceServers, iceTransportPolicy });
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.closed = false;
    /** The polite side offers only once the first offer has been answered. */
    this.mayOffer = !polite;
    /** @type {RTCRtpSender | undefined} where this side's video goes, once known */
    this.videoSender = undefined;

    this.pc.addEventListener('icecandidate', ({ candidate }) => {
      if (candidate) signalling.ice(candidate.toJSON());
    });
    this.pc.addEventListener('track', ({ streams }) => {
      if (streams[0]) this.dispatchEvent(new CustomEvent('remote-stream', { detail: streams[0] }));
    });
    this.pc.addEventListener('connectionstatechange', () => {
      this.dispatchEvent(new CustomEvent('state', { detail: this.pc.connectionState }));
    });
    this.pc.addEventListener('negotiationneeded', () => this.negotiate());

    /** @param {Event} event */
    const detail = (event) => /** @type {CustomEvent} */ (event).detail;
    this.handlers = {
      offer: (/** @type {Event} */ e) => this.receiveOffer(detail(e).sdp),
      answer: (/** @type {Event} */ e) => this.receiveAnswer(detail(e).sdp),
      ice: (/** @type {Event} */ e) => this.receiveCandidate(detail(e).candidate),
    };
    for (const [type, handler] of Object.entries(this.handlers)) signalling.addEventListener(type, handler);

    if (stream) for (const track of stream.getTracks()) this.pc.addTrack(track, stream);
    // The first offer (the veileder's) asks for sound and video even when this
    // side sends neither (no camera, sound only, no permission): an offer
    // without media lines would connect nothing.
    if (!polite) {
      for (const kind of ['audio', 'video']) {
        if (!stream?.getTracks().some((track) => track.kind === kind)) this.pc.addTransceiver(kind, { direction: 'recvonly' });
      }
    }
  }

  async negotiate() {
    if (this.closed || !this.mayOffer) return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      const sdp = this.pc.localDescription?.sdp;
      if (sdp) this.signalling.offer(sdp);
    } catch (error) {
      this.dispatchEvent(new CustomEvent('failure', { detail: String(error) }));
    } finally {
      this.makingOffer = false;
    }
  }

  /** @param {string} sdp */
  async receiveOffer(sdp) {
    if (this.closed) return;
    const collision = this.makingOffer || this.pc.signalingState !== 'stable';
    this.ignoreOffer = !this.polite && collision;
    if (this.ignoreOffer) return;
    await this.pc.setRemoteDescription({ type: 'offer', sdp });
    await this.pc.setLocalDescription();
    const answer = this.pc.localDescription?.sdp;
    if (answer) this.signalling.answer(answer);
    this.mayOffer = true;
  }

  /** @param {string} sdp */
  async receiveAnswer(sdp) {
    if (this.closed || this.pc.signalingState !== 'have-local-offer') return;
    await this.pc.setRemoteDescription({ type: 'answer', sdp });
  }

  /** @param {RTCIceCandidateInit} candidate */
  async receiveCandidate(candidate) {
    if (this.closed) return;
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (error) {
      if (!this.ignoreOffer) throw error;
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
    this.pc.restartIce();
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
    for (const [type, handler] of Object.entries(this.handlers)) this.signalling.removeEventListener(type, handler);
    this.pc.close();
  }
}
