"""Drives headless Chromium through Samrom's own page for the end-to-end
interop test of protocol v2 (sealed signals, chat copies, the call code).

Run by Tests/SamromServerTests/BrowserInteropTests.swift, which speaks to it in
JSON lines: this script prints one line after each step and reads the Swift
side's answer from stdin. The page is the server's real one (same origin, real
CSP); the modules under test are imported from /lib/ exactly as the web client
imports them (lib/e2e.js on lib/sodium.js, libsodium built to WebAssembly).

    chat_interop.py BASE_URL VECTOR_JSON

1. The fixed vector: keys A and B from seeds, a signal and chat copies
   (to B and to A itself) sealed by A with nonce 0, 1, …, 23, for Swift to
   compare byte for byte; then two fresh browser participants, B and C.
2. Swift (participant S) sends a signal and a chat copy sealed for B, and
   its call-code commits to B and C. The browser opens them (tampered copies
   refused), seals a signal and a chat copy back to S, and runs B's and C's
   call code: B and C talk to each other in the page, to S in sealed boxes.
3. Swift sends its reveals; the browser finishes B's and C's rounds and
   shows their codes. A tampered reveal among three browser participants is
   refused (a warning, no code).
"""
import json
import sys

from samrom_browser import browser, resource_hosts


# Shared by the steps: window.samromTest holds the keyrings and call codes.
STEP1 = """
const [vector, done] = arguments;
(async () => {
  const { load, toBase64Url, fromBase64Url } = await import('/lib/sodium.js');
  const e2e = await import('/lib/e2e.js');
  const sodium = await load();
  const b = (t) => fromBase64Url(t);
  const counting = new Uint8Array(24).map((_, i) => i);
  // 1. The fixed vector, sealed by A.
  const a = new e2e.Keyring(sodium, vector.consultation, { publicKey: b(vector.aPublicKey), secretKey: b(vector.aSecretKey) });
  a.setPeer('B', b(vector.bPublicKey));
  const signal = a.sealSignal('B', { kind: 'offer', sdp: vector.sdp }, counting);
  const chat = a.sealChat({ text: vector.text, sentAt: vector.sentAt }, vector.clientMsgId, [a.peers.get('B').keyId], () => counting);
  // 2. Two fresh participants of a call with the Swift one.
  const consultation = vector.consultation;
  const make = () => new e2e.Keyring(sodium, consultation, sodium.kxKeypair());
  const people = { B: make(), C: make() };
  window.samromTest = { sodium, e2e, people };
  done({
    aKeyId: a.keyId, vectorBKeyId: a.peers.get('B').keyId,
    signal, chat,
    lowerIsClient: e2e.compareBytes(b(vector.aPublicKey), b(vector.bPublicKey)) < 0,
    bPublicKey: toBase64Url(people.B.publicKey), cPublicKey: toBase64Url(people.C.publicKey),
    bKeyId: people.B.keyId, cKeyId: people.C.keyId, userAgent: navigator.userAgent,
  });
})().catch((e) => done({ error: String(e && e.stack || e) }));
"""

STEP2 = """
const [swift, done] = arguments;
(async () => {
  const { sodium, e2e, people } = window.samromTest;
  const { toBase64Url, fromBase64Url } = await import('/lib/sodium.js');
  const { B, C } = people;
  const swiftKey = fromBase64Url(swift.publicKey);
  B.setPeer('S', swiftKey); C.setPeer('S', swiftKey);
  B.setPeer('C', C.publicKey); C.setPeer('B', B.publicKey);
  const S = B.peers.get('S').keyId;
  const byKey = { [B.keyId]: B, [C.keyId]: C };
  const nameOf = { [B.keyId]: 'B', [C.keyId]: 'C', [S]: 'S' };

  // The signal and the chat copy Swift sealed for B.
  const signalFrame = { from: 'S', ...swift.signal };
  const opened = B.openSignal(signalFrame);
  const copy = { ...swift.chat, recipientKeyId: swift.chat.recipientKeyId };
  const chat = B.openChat(copy);
  // Any change must make opening fail.
  const flip = (text) => { const bytes = fromBase64Url(text); bytes[3] ^= 1; return toBase64Url(bytes); };
  const attempts = {};
  const tryOpen = (name, open) => { try { open(); attempts[name] = 'opened'; } catch { attempts[name] = 'refused'; } };
  tryOpen('signal.box', () => B.openSignal({ ...signalFrame, box: flip(signalFrame.box) }));
  tryOpen('signal.nonce', () => B.openSignal({ ...signalFrame, nonce: flip(signalFrame.nonce) }));
  tryOpen('signal.from', () => B.openSignal({ ...signalFrame, from: 'C' }));
  tryOpen('signal.recipientKeyId', () => C.openSignal({ ...signalFrame, recipientKeyId: C.keyId }));
  tryOpen('signal.consultation', () => {
    const other = new e2e.Keyring(sodium, 'another-consultation', B.own);
    other.setPeer('S', swiftKey);
    other.openSignal(signalFrame);
  });
  tryOpen('chat.ciphertext', () => B.openChat({ ...copy, ciphertext: flip(copy.ciphertext) }));
  tryOpen('chat.nonce', () => B.openChat({ ...copy, nonce: flip(copy.nonce) }));
  tryOpen('chat.clientMsgId', () => B.openChat({ ...copy, clientMsgId: copy.clientMsgId + 'x' }));
  tryOpen('chat.senderKeyId', () => B.openChat({ ...copy, senderKeyId: C.keyId }));
  tryOpen('chat.recipientKeyId', () => C.openChat({ ...copy, recipientKeyId: C.keyId }));

  // Back to Swift: a signal and a chat message (copies to S and to B itself).
  const signalBack = B.sealSignal('S', { kind: 'answer', sdp: 'v=0\\r\\no=- 2 2 IN IP4 127.0.0.1\\r\\ns=Svar æøå ✓\\r\\n' });
  const chatBack = B.sealChat({ text: 'Hilsen fra nettleseren ✓ æøå', sentAt: '2026-11-24T09:30:00.000Z' }, 'browser-1', [S]);
  const own = chatBack.copies.find((c) => c.recipientKeyId === B.keyId);
  const selfCopy = B.openChat({ clientMsgId: 'browser-1', senderKeyId: B.keyId, ...own });

  // The call code: B and C with Swift's S. Everything between them goes sealed.
  const codes = {};
  const warnings = {};
  const rounds = {};
  for (const [name, ring] of Object.entries(people)) {
    const round = new e2e.CallCode(sodium, { publicKey: ring.publicKey, keyId: ring.keyId });
    round.addEventListener('code', (e) => { codes[name] = e.detail.code; });
    round.addEventListener('mismatch', () => { warnings[name] = true; });
    rounds[ring.keyId] = round;
  }
  const view = new Map([[S, swiftKey], [B.keyId, B.publicKey], [C.keyId, C.publicKey]]);
  const toSwift = [];
  const queue = [];
  const post = (fromKey, outgoing) => {
    for (const { to, message } of outgoing) {
      const sender = byKey[fromKey];
      const sealed = sender.sealSignal(nameOf[to], message);
      if (to === S) toSwift.push(sealed); else queue.push({ fromKey, to, sealed });
    }
  };
  const deliver = () => {
    while (queue.length) {
      const { fromKey, to, sealed } = queue.shift();
      const message = byKey[to].openSignal({ from: nameOf[fromKey], ...sealed });
      post(to, rounds[to].receive(fromKey, message));
    }
  };
  for (const key of [B.keyId, C.keyId]) post(key, rounds[key].update(view));
  deliver();
  for (const sealed of swift.commits) {
    const to = sealed.recipientKeyId;
    const message = byKey[to].openSignal({ from: 'S', ...sealed });
    post(to, rounds[to].receive(S, message));
    deliver();
  }
  window.samromTest.round = { rounds, codes, warnings, post, deliver, byKey, S, toSwift };
  done({
    opened, chat, attempts, signalBack, chatBack, selfCopy,
    toSwift: toSwift.splice(0), codesSoFar: { ...codes },
  });
})().catch((e) => done({ error: String(e && e.stack || e) }));
"""

STEP3 = """
const [swift, done] = arguments;
(async () => {
  const { sodium, e2e, people } = window.samromTest;
  const { toBase64Url } = await import('/lib/sodium.js');
  const { rounds, codes, warnings, post, deliver, byKey, S, toSwift } = window.samromTest.round;
  for (const sealed of swift.reveals) {
    const to = sealed.recipientKeyId;
    const message = byKey[to].openSignal({ from: 'S', ...sealed });
    post(to, rounds[to].receive(S, message));
    deliver();
  }
  // Three browser participants; X's reveal to Y is changed on the way: Y warns and shows no code.
  const rings = [0, 1, 2].map(() => new e2e.Keyring(sodium, 'tamper-test', sodium.kxKeypair()));
  const result = { codes: {}, mismatch: {} };
  const calls = new Map();
  for (const ring of rings) {
    const round = new e2e.CallCode(sodium, { publicKey: ring.publicKey, keyId: ring.keyId });
    round.addEventListener('code', (e) => { result.codes[ring.keyId] = e.detail.code; });
    round.addEventListener('mismatch', () => { result.mismatch[ring.keyId] = true; });
    calls.set(ring.keyId, round);
  }
  const [x, y] = rings.map((ring) => ring.keyId);
  const view = new Map(rings.map((ring) => [ring.keyId, ring.publicKey]));
  const queue = [];
  for (const [key, round] of calls) for (const out of round.update(view)) queue.push({ from: key, ...out });
  while (queue.length) {
    const { from, to, message } = queue.shift();
    const changed = message.kind === 'reveal' && from === x && to === y
      ? { ...message, nonce: toBase64Url(sodium.randomBytes(32)) } : message;
    for (const out of calls.get(to).receive(from, changed)) queue.push({ from: to, ...out });
  }
  done({
    codes: { B: codes.B ?? null, C: codes.C ?? null }, warnings, leftover: toSwift.length,
    tamper: { yCode: result.codes[y] ?? null, yWarned: result.mismatch[y] === true, yState: calls.get(y).state,
              othersAgree: result.codes[x] !== undefined && result.codes[x] === result.codes[rings[2].keyId] },
  });
})().catch((e) => done({ error: String(e && e.stack || e) }));
"""


def main():
    base, vector = sys.argv[1], json.loads(sys.argv[2])
    driver = browser()
    try:
        driver.get(base + "/")
        for step in (STEP1, STEP2, STEP3):
            reply = json.loads(sys.stdin.readline()) if step is not STEP1 else vector
            result = driver.execute_async_script(step, reply)
            print(json.dumps(result), flush=True)
            if "error" in result:
                return 1
        # Nothing the page did may have reached anywhere but our server.
        print(json.dumps({"resourceHosts": resource_hosts(driver)}), flush=True)
        return 0
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main())
