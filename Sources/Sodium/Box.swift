import CSodium

/// Public-key authenticated encryption, NaCl's `crypto_box`
/// (X25519 + XSalsa20-Poly1305). Samrom's own chat does not use it; the
/// benchmark's SaltyRTC client does, because SaltyRTC's server handshake is
/// built on it.
public enum Box {
    public static let publicKeyLength = Int(crypto_box_PUBLICKEYBYTES)
    public static let secretKeyLength = Int(crypto_box_SECRETKEYBYTES)
    public static let nonceLength = Int(crypto_box_NONCEBYTES)
    public static let tagLength = Int(crypto_box_MACBYTES)

    public struct KeyPair: Sendable {
        public let publicKey: [UInt8]
        public let secretKey: SecureBytes

        public static func generate() -> KeyPair {
            Sodium.ready()
            var pk = [UInt8](repeating: 0, count: publicKeyLength)
            let sk = SecureBytes(count: secretKeyLength) { sk in _ = crypto_box_keypair(&pk, sk.u8) }
            return KeyPair(publicKey: pk, secretKey: sk)
        }
    }

    /// Encrypts and authenticates `message` from `sender` to `recipient`.
    public static func seal(_ message: [UInt8], nonce: [UInt8], to recipient: [UInt8], from sender: SecureBytes) throws -> [UInt8] {
        Sodium.ready()
        try check(nonce: nonce, key: recipient, secret: sender)
        var out = [UInt8](repeating: 0, count: message.count + tagLength)
        let status = sender.withUnsafeBytes { sk in
            crypto_box_easy(&out, message, UInt64(message.count), nonce, recipient, sk.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        guard status == 0 else { throw SodiumError(.invalidLength, "crypto_box_easy refused the key") }
        return out
    }

    /// Opens a box from `sender` to `recipient`; a forged or corrupted one throws `verificationFailed`.
    public static func open(_ ciphertext: [UInt8], nonce: [UInt8], from sender: [UInt8], to recipient: SecureBytes) throws -> [UInt8] {
        Sodium.ready()
        try check(nonce: nonce, key: sender, secret: recipient)
        guard ciphertext.count >= tagLength else { throw SodiumError(.invalidLength, "ciphertext shorter than its tag") }
        var out = [UInt8](repeating: 0, count: ciphertext.count - tagLength)
        let status = recipient.withUnsafeBytes { sk in
            crypto_box_open_easy(
                &out, ciphertext, UInt64(ciphertext.count), nonce, sender, sk.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        guard status == 0 else { throw SodiumError(.verificationFailed, "box forged or corrupted") }
        return out
    }

    private static func check(nonce: [UInt8], key: [UInt8], secret: SecureBytes) throws {
        guard nonce.count == nonceLength else { throw SodiumError(.invalidLength, "nonce must be \(nonceLength) bytes") }
        guard key.count == publicKeyLength else { throw SodiumError(.invalidLength, "public key must be \(publicKeyLength) bytes") }
        guard secret.count == secretKeyLength else { throw SodiumError(.invalidLength, "secret key must be \(secretKeyLength) bytes") }
    }
}
