import Sodium

/// The key TOTP secrets are sealed with at rest: 32 random bytes in the
/// data directory (`second-factor.key`), XChaCha20-Poly1305 with
/// `"samrom/totp/v1|" + account id` as associated data, so that a sealed
/// secret opens only for its own account. Instances sharing a store must
/// hold the same key; the store records its `id`, never the key. Keys for
/// other short-lived secrets are derived from it (`derivedKey`).
public struct SecondFactorKey: Sendable {
    public static let length = XChaCha20Poly1305.keyLength
    let key: SecureBytes
    /// base64url of BLAKE2b-128, keyed with the key, of a fixed label.
    public let id: String

    public init(_ key: SecureBytes) throws {
        guard key.count == Self.length else {
            throw SodiumError(.invalidLength, "a second-factor key is \(Self.length) bytes")
        }
        self.key = key
        id = Base64URL.encode(try GenericHash.hash(Array("samrom/second-factor-key-id/v1".utf8), length: 16, key: key))
    }

    public static func generate() -> SecondFactorKey { try! SecondFactorKey(.random(count: length)) }

    /// The key's bytes, for writing its file.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try key.withUnsafeBytes(body)
    }

    /// A key for another purpose, derived with keyed BLAKE2b-256 so that
    /// the two never meet: the OpenID Connect attempt cookie's.
    public func derivedKey(label: String) -> SecureBytes {
        SecureBytes(try! GenericHash.hash(Array(label.utf8), length: 32, key: key))
    }

    public func seal(_ secret: TOTPSecret, for account: AccountID) throws -> SealedSecret {
        let nonce = XChaCha20Poly1305.randomNonce()
        let ciphertext = try secret.bytes.withUnsafeBytes { plain in
            try XChaCha20Poly1305.seal(Array(plain), additionalData: Self.additionalData(account), nonce: nonce, key: key)
        }
        return SealedSecret(nonce: nonce, ciphertext: ciphertext)
    }

    /// Throws `verificationFailed` for another key, another account or any change.
    public func open(_ sealed: SealedSecret, for account: AccountID) throws -> TOTPSecret {
        try TOTPSecret(
            XChaCha20Poly1305.open(sealed.ciphertext, additionalData: Self.additionalData(account), nonce: sealed.nonce, key: key))
    }

    static func additionalData(_ account: AccountID) -> [UInt8] { Array("samrom/totp/v1|\(account.rawValue)".utf8) }
}

/// A TOTP secret as stored: nonce and ciphertext (with its tag).
public struct SealedSecret: Sendable, Equatable {
    public let nonce: [UInt8]
    public let ciphertext: [UInt8]

    public init(nonce: [UInt8], ciphertext: [UInt8]) {
        self.nonce = nonce
        self.ciphertext = ciphertext
    }
}
