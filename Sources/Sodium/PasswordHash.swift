import CSodium

/// Argon2id password hashing (`crypto_pwhash_str*`), stored in the encoded
/// `$argon2id$v=19$m=…,t=…,p=1$salt$hash` form that carries its own parameters.
public enum PasswordHash {
    /// Work factors. `.interactive` is libsodium's interactive preset
    /// (2 passes, 64 MiB); `.moderate` is stronger (3 passes, 256 MiB).
    public struct Limits: Sendable, Equatable {
        public let opsLimit: UInt64
        public let memLimit: Int

        public init(opsLimit: UInt64, memLimit: Int) {
            self.opsLimit = opsLimit
            self.memLimit = memLimit
        }

        public static let interactive = Limits(
            opsLimit: UInt64(crypto_pwhash_OPSLIMIT_INTERACTIVE), memLimit: Int(crypto_pwhash_MEMLIMIT_INTERACTIVE))
        public static let moderate = Limits(
            opsLimit: UInt64(crypto_pwhash_OPSLIMIT_MODERATE), memLimit: Int(crypto_pwhash_MEMLIMIT_MODERATE))
    }

    /// Longest password accepted (bytes of UTF-8); longer input is refused,
    /// not truncated.
    public static let maxPasswordBytes = 1024

    public static func hash(password: SecureBytes, limits: Limits = .interactive) throws -> String {
        Sodium.ready()
        guard password.count <= maxPasswordBytes else {
            throw SodiumError(.invalidLength, "password longer than \(maxPasswordBytes) bytes")
        }
        var out = [CChar](repeating: 0, count: Int(crypto_pwhash_STRBYTES))
        let status = password.withUnsafeBytes { pw in
            out.withUnsafeMutableBufferPointer { o in
                crypto_pwhash_str_alg(
                    o.baseAddress!, pw.cchar, UInt64(pw.count),
                    limits.opsLimit, limits.memLimit, crypto_pwhash_ALG_ARGON2ID13)
            }
        }
        guard status == 0 else { throw SodiumError(.outOfMemory, "crypto_pwhash_str failed (memory limit)") }
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// True when `password` matches the encoded `hash`. Malformed hashes and
    /// over-long passwords are simply not a match.
    public static func verify(password: SecureBytes, hash: String) -> Bool {
        Sodium.ready()
        guard password.count <= maxPasswordBytes, hash.utf8.count < Int(crypto_pwhash_STRBYTES) else { return false }
        return password.withUnsafeBytes { pw in
            hash.withCString { h in
                crypto_pwhash_str_verify(h, pw.cchar, UInt64(pw.count)) == 0
            }
        }
    }

    /// True when `hash` was made with other limits than `limits`.
    public static func needsRehash(_ hash: String, limits: Limits = .interactive) -> Bool {
        Sodium.ready()
        return hash.withCString { crypto_pwhash_str_needs_rehash($0, limits.opsLimit, limits.memLimit) != 0 }
    }
}
