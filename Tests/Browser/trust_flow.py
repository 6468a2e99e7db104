"""What makes a call trustworthy beyond the call code, in real headless
Chromium, for BrowserInteropTests+Trust.swift: the DTLS fingerprint check of
lib/rtc.js and the "Koden stemmer" record of lib/room.js.

The page is the server's real one (same origin, real CSP); the modules are
imported from /lib/ as the pages import them. Nothing here needs a second
browser or the signalling server:

1. `table`: fingerprintMatches on a table of SDPs and certificate digests.
2. `loopback`: two RTCPeerConnections in the page, connected to each other
   over loopback; the SHA-256 of the certificate each got through DTLS
   (getRemoteCertificates) is the fingerprint in the other's SDP and the one
   the other's RTCCertificate reports; a fingerprint changed by one digit
   does not match.
3. `calls`: two lib/rtc.js Calls in the page, signalling through a pair of
   stand-in rooms, each say `fingerprint` {ok: true} once connected;
   `tamperedCall`: the same with one digit of the offer's fingerprint
   changed on the way never connects, and says no `fingerprint` at all.
4. `checked`: a lib/room.js SecureRoom on a stand-in signalling client with
   a simulated peer (lib/e2e.js Keyring and CallCode, every box sealed),
   three sessions over IndexedDB: the first code is not checked and
   markChecked records its key set; the next session with the same keys
   says `checked` at once; when the peer's key changes, `key-changed` says
   the code had been checked and the new code is not. The call-code
   paragraph of the page (bindCallCode) follows it; forgetConsultation
   deletes the record.

Prints one JSON line with what it saw.

    trust_flow.py BASE_URL
"""
import json
import sys

from samrom_browser import browser, resource_hosts

# Shared helpers, installed once in the page.
HELPERS = """
window.trust = {
  hex: (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join(''),
  until: (condition, what, ms = 15000) => new Promise((resolve, reject) => {
    const started = Date.now();
    const look = () => {
      let value;
      try { value = condition(); } catch (e) { return reject(e); }
      if (value) return resolve(value);
      if (Date.now() - started > ms) return reject(new Error('timed out waiting for ' + what));
      setTimeout(look, 25);
    };
    look();
  }),
  // One hex digit of the SHA-256 fingerprint changed (the last before the line's end).
  tamper: (sdp) => sdp.replace(/(a=fingerprint:sha-256 [0-9A-Fa-f:]*)([0-9A-Fa-f])(\\r?\\n)/i,
    (whole, head, digit, end) => head + (digit.toLowerCase() === '0' ? '1' : '0') + end),
};
"""

TABLE = """
const done = arguments[0];
(async () => {
  const { fingerprintMatches } = await import('/lib/rtc.js');
  const A = '0a1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff0';
  const B = 'f00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
  const C = '7777777777777777777777777777777777777777777777777777777777777777';
  const colons = (hex) => hex.match(/../g).join(':');
  const upper = (hex) => colons(hex).toUpperCase();
  const bytes = (hex) => new Uint8Array(hex.match(/../g).map((pair) => parseInt(pair, 16)));
  const sdp = (session, media = []) => 'v=0\\r\\no=- 4611731400430051336 2 IN IP4 127.0.0.1\\r\\ns=-\\r\\nt=0 0\\r\\n'
    + session.map((line) => line + '\\r\\n').join('')
    + 'a=group:BUNDLE 0\\r\\nm=audio 9 UDP/TLS/RTP/SAVPF 111\\r\\nc=IN IP4 0.0.0.0\\r\\na=mid:0\\r\\n'
    + media.map((line) => line + '\\r\\n').join('') + 'a=setup:actpass\\r\\n';
  const sha256 = (hex) => 'a=fingerprint:sha-256 ' + upper(hex);
  const sha384 = 'a=fingerprint:sha-384 ' + upper(A + B.slice(0, 32));
  const cases = {
    match: [sdp([sha256(A)]), [A]],
    mediaLevel: [sdp([], [sha256(A)]), [A]],
    mismatch: [sdp([sha256(A)]), [B]],
    sha384Only: [sdp([sha384]), [A]],
    sha384AndSha256: [sdp([sha384], [sha256(A)]), [A]],
    severalOneMatches: [sdp([sha256(B)], [sha256(A)]), [A]],
    severalNoneMatches: [sdp([sha256(B)], [sha256(C)]), [A]],
    lowerCaseSdp: [sdp(['a=fingerprint:sha-256 ' + colons(A)]), [upper(A)]],
    upperCaseAlgorithm: [sdp(['a=fingerprint:SHA-256 ' + upper(A)]), [A]],
    digestAsBytes: [sdp([sha256(A)]), [bytes(A)]],
    digestAsArrayBuffer: [sdp([sha256(A)]), [bytes(A).buffer]],
    onlyTheLeafCounts: [sdp([sha256(A)]), [B, A]],
    noCertificate: [sdp([sha256(A)]), []],
    noFingerprint: [sdp([]), [A]],
    malformed: [sdp(['a=fingerprint:sha-256 ' + upper(A).replace('0A', 'ZZ')]), [A]],
    tooShort: [sdp(['a=fingerprint:sha-256 ' + upper(A).slice(0, -3)]), [A.slice(0, -2)]],
  };
  done(Object.fromEntries(Object.entries(cases).map(([name, [text, digests]]) => [name, fingerprintMatches(text, digests)])));
})().catch((e) => done({ error: String(e && e.stack || e) }));
"""

LOOPBACK = """
const done = arguments[0];
(async () => {
  const { fingerprintMatches, remoteFingerprintMatches, sdpFingerprints } = await import('/lib/rtc.js');
  const { hex, until, tamper } = window.trust;
  // A microphone (the fake device): something to send, and Chromium then shows
  // real host candidates rather than mDNS names.
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const certificate = await RTCPeerConnection.generateCertificate({ name: 'ECDSA', namedCurve: 'P-256' });
  const a = new RTCPeerConnection();
  const b = new RTCPeerConnection({ certificates: [certificate] });
  a.onicecandidate = (e) => { if (e.candidate) b.addIceCandidate(e.candidate); };
  b.onicecandidate = (e) => { if (e.candidate) a.addIceCandidate(e.candidate); };
  for (const pc of [a, b]) pc.addTrack(stream.getAudioTracks()[0], stream);
  await a.setLocalDescription();
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription();
  await a.setRemoteDescription(b.localDescription);
  await until(() => a.connectionState === 'connected' && b.connectionState === 'connected', 'both connected');

  const transceiver = a.getTransceivers()[0];
  const transport = transceiver.sender.transport ?? transceiver.receiver.transport;
  const certificates = transport.getRemoteCertificates();
  const digests = await Promise.all(certificates.map((c) => crypto.subtle.digest('SHA-256', c)));
  const fromDtls = hex(digests[0]);
  const sdp = a.currentRemoteDescription.sdp;  // b's, as a applied it
  const inSdp = /^a=fingerprint:sha-256 (\\S+)/im.exec(sdp)[1].replaceAll(':', '').toLowerCase();
  const reported = certificate.getFingerprints().find((f) => f.algorithm === 'sha-256').value.replaceAll(':', '').toLowerCase();
  const tampered = tamper(sdp);
  const result = {
    certificates: certificates.length,
    dtlsEqualsSdp: fromDtls === inSdp,
    dtlsEqualsCertificate: fromDtls === reported,
    parsed: sdpFingerprints(sdp).length === 1 && sdpFingerprints(sdp)[0] === fromDtls,
    matches: fingerprintMatches(sdp, digests),
    matchesHex: fingerprintMatches(sdp, [fromDtls]),
    tamperedChanged: tampered !== sdp,
    tampered: fingerprintMatches(tampered, digests),
    ownFingerprint: fingerprintMatches(a.localDescription.sdp, digests),
    checkA: await remoteFingerprintMatches(a),
    checkB: await remoteFingerprintMatches(b),
  };
  a.close(); b.close();
  for (const track of stream.getTracks()) track.stop();
  done(result);
})().catch((e) => done({ error: String(e && e.stack || e) }));
"""

CALLS = """
const [tamperOffer, done] = arguments;
(async () => {
  const { Call } = await import('/lib/rtc.js');
  const { until, tamper } = window.trust;
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  // Stand-ins for lib/room.js: `send` hands the message to the other side's
  // `signal` event a moment later, as the relay does.
  class Relay extends EventTarget {
    constructor(me) { super(); this.me = me; this.other = null; }
    send(peer, message) {
      const copy = structuredClone(message);
      if (tamperOffer && copy.kind === 'offer') copy.sdp = tamper(copy.sdp);
      setTimeout(() => this.other.dispatchEvent(new CustomEvent('signal', { detail: { from: this.me, message: copy } })), 0);
      return true;
    }
  }
  const roomA = new Relay('p-a'), roomB = new Relay('p-b');
  roomA.other = roomB; roomB.other = roomA;
  const calls = {
    a: new Call(/** @type {any} */ (roomA), { peer: 'p-b', polite: false, stream }),
    b: new Call(/** @type {any} */ (roomB), { peer: 'p-a', polite: true, stream }),
  };
  const events = { a: [], b: [] };
  const states = { a: [], b: [] };
  for (const [side, call] of Object.entries(calls)) {
    call.addEventListener('fingerprint', (e) => events[side].push(e.detail));
    call.addEventListener('state', (e) => states[side].push(e.detail));
  }
  if (tamperOffer) {
    await until(() => states.a.includes('failed') || states.b.includes('failed'), 'a failed connection', 20000);
    // Time for a `fingerprint` that should not come.
    await new Promise((resolve) => setTimeout(resolve, 1000));
  } else {
    await until(() => events.a.length > 0 && events.b.length > 0, 'both fingerprint events', 20000);
    // Once per connection: no second event.
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  const result = {
    events, connected: { a: states.a.includes('connected'), b: states.b.includes('connected') },
    failed: states.a.includes('failed') || states.b.includes('failed'),
    property: { a: calls.a.fingerprint ?? 'undefined', b: calls.b.fingerprint ?? 'undefined' },
  };
  calls.a.close(); calls.b.close();
  for (const track of stream.getTracks()) track.stop();
  done(result);
})().catch((e) => done({ error: String(e && e.stack || e) }));
"""

CHECKED = """
const done = arguments[0];
(async () => {
  const { SecureRoom, forgetConsultation } = await import('/lib/room.js');
  const { Keyring, CallCode } = await import('/lib/e2e.js');
  const { load, toBase64Url } = await import('/lib/sodium.js');
  const { bindCallCode } = await import('/lib/ui.js');
  const sodium = await load();
  const { until } = window.trust;
  const consultation = 'trust-' + Math.random().toString(36).slice(2);

  /** The simulated peer: a device key of its own, its half of the call code. */
  const peer = () => ({ keyring: new Keyring(sodium, consultation, sodium.kxKeypair()), code: null });

  /**
   * The signalling client as lib/room.js sees it, with the server and the
   * peer behind it: what this device seals for the peer is opened by the
   * simulated peer, whose commits and reveals come back sealed.
   */
  class Client extends EventTarget {
    constructor() {
      super();
      this.welcome = { consultation: { id: consultation }, you: { participant: 'p-a' } };
      this.inCall = true;
      this.connected = true;
      this.peer = null;
    }
    key() {}
    signal(frame) {
      const peer = this.peer;
      let message;
      try { message = peer.keyring.openSignal({ from: 'p-a', ...frame }); } catch { return; }  // for an older key of the peer
      if (message.kind === 'commit' || message.kind === 'reveal') this.deliver(peer, peer.code.receive(frame.senderKeyId, message));
    }
    deliver(peer, outgoing) {
      for (const { message } of outgoing) this.fromPeer(peer, message);
    }
    fromPeer(peer, message) {
      const sealed = peer.keyring.sealSignal('p-a', message);
      setTimeout(() => this.emit('signal', { from: 'p-b', ...sealed }), 0);
    }
    emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }
  }

  /** The server tells this device of the peer's key and puts both in the roster; the peer starts its round. */
  function join(client, room, who, { changed = false } = {}) {
    client.peer = who;
    who.keyring.setPeer('p-a', room.keyring.publicKey);
    who.code = new CallCode(sodium, { publicKey: who.keyring.publicKey, keyId: who.keyring.keyId });
    client.emit('key', { from: 'p-b', role: 'deltaker', publicKey: toBase64Url(who.keyring.publicKey), keyId: who.keyring.keyId, changed });
    client.emit('roster', { participants: [
      { participant: 'p-a', role: 'veileder', keyId: room.keyId },
      { participant: 'p-b', role: 'deltaker', keyId: who.keyring.keyId },
    ] });
    const view = new Map([[room.keyId, room.keyring.publicKey], [who.keyring.keyId, who.keyring.publicKey]]);
    client.deliver(who, who.code.update(view));
  }

  /** A new session: a fresh page's room on this device. */
  async function session() {
    const client = new Client();
    const room = new SecureRoom(client);
    await room.start();
    const seen = { codes: [], checked: [], keyChanges: [], media: [] };
    room.addEventListener('code', (e) => seen.codes.push(e.detail));
    room.addEventListener('code-checked', (e) => seen.checked.push(e.detail));
    room.addEventListener('key-changed', (e) => seen.keyChanges.push({ role: e.detail.role, checkedBefore: e.detail.checkedBefore, previousKeyId: e.detail.previousKeyId }));
    room.addEventListener('media', (e) => seen.media.push({ from: e.detail.from, video: e.detail.video, audio: 'audio' in e.detail && e.detail.audio !== undefined ? e.detail.audio : 'absent' }));
    return { client, room, seen };
  }

  async function stored(store) {
    const db = await new Promise((resolve, reject) => {
      const request = indexedDB.open('samrom');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    try {
      const value = await new Promise((resolve, reject) => {
        const request = db.transaction(store).objectStore(store).get(consultation);
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      return { version: db.version, value: value === undefined ? 'absent' : value };
    } finally {
      db.close();
    }
  }

  const b = peer();
  const result = {};

  // Session 1: the first code, not checked yet; "Koden stemmer" records its key set.
  {
    const { client, room, seen } = await session();
    const beforeCode = await room.markChecked();
    join(client, room, b);
    await until(() => seen.codes.length > 0, 'the first code');
    const first = seen.codes[0];
    const expectedKeys = [room.keyId, b.keyring.keyId].sort().join(',');
    const marked = await room.markChecked();
    result.first = {
      markedBeforeCode: beforeCode, checked: first.checked, keysAreK: first.keys === expectedKeys,
      sameCodeAsPeer: first.code === b.code.code, marked, events: seen.checked.length,
      eventMatches: seen.checked[0]?.keys === first.keys && seen.checked[0]?.code === first.code,
      currentChecked: room.currentCode?.checked ?? null,
    };
    const record = await stored('checked-keys');
    result.stored = { version: record.version, list: Array.isArray(record.value) && record.value.length === 1 && record.value[0] === first.keys };
    result.firstCode = first.code;
    room.close();
  }

  // Session 2: the same keys again: checked at once; a media signal with and without `audio`.
  {
    const { client, room, seen } = await session();
    join(client, room, b);
    await until(() => seen.codes.length > 0, 'the second code');
    const second = seen.codes[0];
    client.fromPeer(b, { kind: 'media', video: true, audio: false });
    client.fromPeer(b, { kind: 'media', video: false });
    client.fromPeer(b, { kind: 'media', video: true, audio: 'no' });
    await until(() => seen.media.length === 3, 'three media signals');
    result.second = { checked: second.checked, newCode: second.code !== result.firstCode, sameCodeAsPeer: second.code === b.code.code };
    result.media = seen.media;
    room.close();
  }

  // Session 3, with the page's call-code paragraph: checked; then the peer's key changes.
  {
    const { client, room, seen } = await session();
    bindCallCode(room);
    const $ = (selector) => document.querySelector(selector);
    const ui = () => ({
      code: $('#safety-code').textContent, confirm: !$('#code-confirm').hidden, verified: !$('#code-verified').hidden,
      keyWarning: $('#key-warning').hidden ? null : $('#key-warning').textContent, status: $('#status').textContent,
    });
    const waiting = ui();
    join(client, room, b);
    await until(() => seen.codes.length > 0, 'the third code');
    const again = ui();
    const b2 = peer();
    const oldKeyId = b.keyring.keyId;
    join(client, room, b2, { changed: true });
    await until(() => seen.codes.length > 1, 'the code with the new key');
    const changedCode = seen.codes[1];
    const afterChange = ui();
    $('#code-confirm').click();
    await until(() => seen.checked.length > 0 && !$('#code-verified').hidden, 'the checked mark');
    const afterConfirm = ui();
    result.third = {
      checkedAtOnce: seen.codes[0].checked, keyChanges: seen.keyChanges.map((c) => ({ ...c, previousKeyId: c.previousKeyId === oldKeyId })),
      newKeyChecked: changedCode.checked, newKeysDiffer: changedCode.keys !== seen.codes[0].keys,
      ui: { waiting, again, afterChange, afterConfirm },
    };
    room.close();
  }

  const before = await stored('checked-keys');
  await forgetConsultation(consultation);
  const after = await stored('checked-keys');
  const keysAfter = await stored('chat-keys');
  result.forgotten = { listedBefore: Array.isArray(before.value) ? before.value.length : before.value, after: after.value, deviceKey: keysAfter.value };
  done(result);
})().catch((e) => done({ error: String(e && e.stack || e) }));
"""


def main():
    base = sys.argv[1]
    driver = browser(media=True)
    driver.set_script_timeout(90)
    try:
        driver.get(base + "/")
        driver.execute_script(HELPERS)
        result = {
            "table": driver.execute_async_script(TABLE),
            "loopback": driver.execute_async_script(LOOPBACK),
            "calls": driver.execute_async_script(CALLS, False),
            "tamperedCall": driver.execute_async_script(CALLS, True),
            "checked": driver.execute_async_script(CHECKED),
        }
        errors = ["%s: %s" % (name, part["error"]) for name, part in result.items() if "error" in part]
        if errors:
            result["error"] = "; ".join(errors)
        # Nothing the page did may have reached anywhere but our server.
        result["resourceHosts"] = resource_hosts(driver)
        print(json.dumps(result), flush=True)
        return 1 if errors else 0
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main())
