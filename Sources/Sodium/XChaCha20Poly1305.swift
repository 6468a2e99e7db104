import CSodium

/// XChaCha20-Poly1305-IETF AEAD (`crypto_aead_xchacha20poly1305_ietf_*`).
public enum XChaCha20Poly1305 {
    public static let keyLength = Int(crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
    public static let nonceLength = Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    public static let tagLength = Int(crypto_aead_xchacha20poly1305_ietf_ABYTES)

    public static func randomNonce() -> [UInt8] { Random.bytes(nonceLength) }

    public static func seal(
        _ message: some ContiguousBytes, additionalData: [UInt8], nonce: [UInt8], key: SecureBytes
    ) throws -> [UInt8] {
        Sodium.ready()
        guard nonce.count == nonceLength else { throw SodiumError(.invalidLength, "nonce must be \(nonceLength) bytes") }
        guard key.count == keyLength else { throw SodiumError(.invalidLength, "key must be \(keyLength) bytes") }
        return message.withUnsafeBytes { msg in
            var out = [UInt8](repeating: 0, count: msg.count + tagLength)
            var outLength: UInt64 = 0
            key.withUnsafeBytes { k in
                _ = crypto_aead_xchacha20poly1305_ietf_encrypt(
                    &out, &outLength,
                    msg.u8, UInt64(msg.count),
                    additionalData, UInt64(additionalData.count), nil, nonce,
                    k.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
            return Array(out.prefix(Int(outLength)))
        }
    }

    /// Opens and authenticates; any change to ciphertext, nonce, key or
    /// associated data throws `verificationFailed`.
    public static func open(
        _ ciphertext: [UInt8], additionalData: [UInt8], nonce: [UInt8], key: SecureBytes
    ) throws -> SecureBytes {
        Sodium.ready()
        guard nonce.count == nonceLength else { throw SodiumError(.invalidLength, "nonce must be \(nonceLength) bytes") }
        guard key.count == keyLength else { throw SodiumError(.invalidLength, "key must be \(keyLength) bytes") }
        guard ciphertext.count >= tagLength else { throw SodiumError(.invalidLength, "ciphertext shorter than its tag") }
        var outLength: UInt64 = 0
        var status: Int32 = -1
        let plain = SecureBytes(count: ciphertext.count - tagLength) { out in
            status = key.withUnsafeBytes { k in
                crypto_aead_xchacha20poly1305_ietf_decrypt(
                    out.u8, &outLength, nil,
                    ciphertext, UInt64(ciphertext.count),
                    additionalData, UInt64(additionalData.count), nonce,
                    k.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        guard status == 0 else { throw SodiumError(.verificationFailed, "message forged or corrupted") }
        return plain
    }
}
