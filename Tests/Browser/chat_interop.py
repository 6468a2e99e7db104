"""Drives headless Chromium through Samrom's own page for the chat interop test.

Run by Tests/SamromServerTests/BrowserInteropTests.swift, which speaks to it in
JSON lines: this script prints one line after each step and reads the Swift
side's answer from stdin. The page is the server's real one (same origin, real
CSP); the modules under test are imported from /lib/ exactly as the web client
imports them.

    chat_interop.py BASE_URL CONSULTATION VEILEDER_PUBLIC_KEY VECTOR_JSON
"""
import json
import sys

from samrom_browser import browser, resource_hosts


STEP1 = """
const [base, consultation, veilederKey, vector, done] = arguments;
(async () => {
  const { load, toBase64Url, fromBase64Url } = await import('/lib/sodium.js');
  const { ChatCipher, keyId, safetyCode } = await import('/lib/e2e.js');
  const sodium = await load();
  const b = (t) => fromBase64Url(t);
  // 1. The documented test vector, sealed here with the deltaker's fixed keys.
  const fixed = new ChatCipher(sodium, vector.consultation, 'deltaker',
      { publicKey: b(vector.deltakerPublicKey), secretKey: b(vector.deltakerSecretKey) }, b(vector.veilederPublicKey));
  const nonce = new Uint8Array(24).map((_, i) => i);
  const sealed = fixed.seal({ text: vector.text, sentAt: vector.sentAt }, vector.clientMsgId, nonce);
  // 2. A fresh device key, and a message for the Swift veileder.
  const own = sodium.kxKeypair();
  const chat = new ChatCipher(sodium, consultation, 'deltaker', own, b(veilederKey));
  window.samromTest = { sodium, chat };
  const envelope = chat.seal({ text: 'Hilsen fra nettleseren ✓ æøå', sentAt: '2026-11-24T09:30:00.000Z' }, 'browser-1');
  done({
    vectorCiphertext: sealed.ciphertext, vectorKeyId: fixed.ownKeyId, vectorSafetyCode: fixed.safetyCode,
    publicKey: toBase64Url(own.publicKey), keyId: keyId(sodium, own.publicKey), safetyCode: chat.safetyCode,
    envelope, userAgent: navigator.userAgent,
  });
})().catch((e) => done({ error: String(e && e.stack || e) }));
"""

STEP2 = """
const [envelope, done] = arguments;
(async () => {
  const { chat } = window.samromTest;
  const { toBase64Url, fromBase64Url } = await import('/lib/sodium.js');
  const opened = chat.open(envelope, 'veileder');
  // Any change must make opening fail.
  const attempts = {};
  const flip = (text) => { const bytes = fromBase64Url(text); bytes[3] ^= 1; return toBase64Url(bytes); };
  const variants = {
    ciphertext: { ...envelope, ciphertext: flip(envelope.ciphertext) },
    nonce: { ...envelope, nonce: flip(envelope.nonce) },
    clientMsgId: { ...envelope, clientMsgId: envelope.clientMsgId + 'x' },
    senderKeyId: { ...envelope, senderKeyId: envelope.recipientKeyId },
    recipientKeyId: { ...envelope, recipientKeyId: envelope.senderKeyId },
  };
  for (const [name, variant] of Object.entries(variants)) {
    try { chat.open(variant, 'veileder'); attempts[name] = 'opened'; } catch (e) { attempts[name] = 'refused'; }
  }
  try { chat.open(envelope, 'deltaker'); attempts.senderRole = 'opened'; } catch (e) { attempts.senderRole = 'refused'; }
  done({ text: opened.text, sentAt: opened.sentAt, attempts });
})().catch((e) => done({ error: String(e && e.stack || e) }));
"""


def main():
    base, consultation, veileder_key, vector = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    driver = browser()
    try:
        driver.get(base + "/")
        first = driver.execute_async_script(STEP1, base, consultation, veileder_key, vector)
        print(json.dumps(first), flush=True)
        if "error" in first:
            return 1
        reply = json.loads(sys.stdin.readline())
        second = driver.execute_async_script(STEP2, reply)
        print(json.dumps(second), flush=True)
        # Nothing the page did may have reached anywhere but our server.
        print(json.dumps({"resourceHosts": resource_hosts(driver)}), flush=True)
        return 0 if "error" not in second else 1
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main())
