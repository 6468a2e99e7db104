import CSodium

/// SHA-256 (`crypto_hash_sha256`), for formats that name it (RFC 9162).
public enum SHA256 {
    public static let length = Int(crypto_hash_sha256_BYTES)

    public static func hash(_ message: some ContiguousBytes) -> [UInt8] {
        Sodium.ready()
        var out = [UInt8](repeating: 0, count: length)
        message.withUnsafeBytes { msg in
            out.withUnsafeMutableBufferPointer { o in
                _ = crypto_hash_sha256(o.nonNull, msg.u8, UInt64(msg.count))
            }
        }
        return out
    }
}
