import CSodium

/// BLAKE2b (`crypto_generichash`).
public enum GenericHash {
    public static let minLength = Int(crypto_generichash_BYTES_MIN)
    public static let maxLength = Int(crypto_generichash_BYTES_MAX)

    /// Hashes `message` to `length` bytes (16…64), optionally keyed.
    public static func hash(_ message: some ContiguousBytes, length: Int = 32, key: SecureBytes? = nil) throws -> [UInt8] {
        Sodium.ready()
        guard (minLength...maxLength).contains(length) else {
            throw SodiumError(.invalidLength, "generichash output must be \(minLength)…\(maxLength) bytes")
        }
        var out = [UInt8](repeating: 0, count: length)
        let status: Int32 = message.withUnsafeBytes { msg in
            let run = { (keyPtr: UnsafeRawBufferPointer?) -> Int32 in
                out.withUnsafeMutableBufferPointer { o in
                    crypto_generichash(
                        o.nonNull, length, msg.u8, UInt64(msg.count),
                        keyPtr?.baseAddress?.assumingMemoryBound(to: UInt8.self), keyPtr?.count ?? 0)
                }
            }
            if let key { return key.withUnsafeBytes { run($0) } }
            return run(nil)
        }
        guard status == 0 else { throw SodiumError(.failed, "crypto_generichash failed") }
        return out
    }
}
