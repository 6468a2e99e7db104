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

    /// SHA-256 of `prefix || first || second`, written to `out` (32 bytes):
    /// RFC 9162's leaf (`0x00 || entry`) and node (`0x01 || left || right`)
    /// hashes, without allocating, for verifying millions of entries.
    public static func hash(
        prefix: UInt8, _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
        into out: UnsafeMutableRawBufferPointer
    ) {
        precondition(out.count >= length, "SHA-256 needs 32 bytes of output")
        Sodium.ready()
        var state = crypto_hash_sha256_state()
        var tag = prefix
        _ = crypto_hash_sha256_init(&state)
        _ = crypto_hash_sha256_update(&state, &tag, 1)
        _ = crypto_hash_sha256_update(&state, first.u8, UInt64(first.count))
        if second.count > 0 { _ = crypto_hash_sha256_update(&state, second.u8, UInt64(second.count)) }
        _ = crypto_hash_sha256_final(&state, out.u8)
    }
}
