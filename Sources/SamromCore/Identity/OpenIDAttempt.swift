import Foundation
import Sodium

/// One OpenID Connect login on its way through the identity provider: the
/// `state` that binds the provider's answer to this browser, the `nonce`
/// the ID token must carry, and the PKCE verifier (RFC 7636) the code is
/// redeemed with. Kept in the browser only, sealed (`OpenIDAttemptSealer`)
/// in a short-lived cookie, so the answer may reach any instance.
public struct OpenIDAttempt: Sendable, Codable, Equatable {
    /// What the login is for: a staff session, or a deltaker's identity
    /// before knocking (with `--id-porten-*`).
    public enum Purpose: String, Sendable, Codable {
        case staff
        case knock
    }

    /// How long the person has at the provider.
    public static let lifetime: TimeInterval = 600

    public let purpose: Purpose
    public let state: String
    public let nonce: String
    public let verifier: String
    public let expiresAt: Date

    public init(purpose: Purpose, state: String, nonce: String, verifier: String, expiresAt: Date) {
        self.purpose = purpose
        self.state = state
        self.nonce = nonce
        self.verifier = verifier
        self.expiresAt = expiresAt
    }

    /// Fresh random values (32 bytes each, base64url).
    public static func start(_ purpose: Purpose, now: Date) -> OpenIDAttempt {
        OpenIDAttempt(
            purpose: purpose, state: Base64URL.encode(Random.bytes(32)), nonce: Base64URL.encode(Random.bytes(32)),
            verifier: Base64URL.encode(Random.bytes(32)), expiresAt: now.addingTimeInterval(lifetime))
    }

    /// RFC 7636 §4.2, S256: base64url(SHA-256(verifier)).
    public var codeChallenge: String { Base64URL.encode(SHA256.hash(Array(verifier.utf8))) }

    /// The provider's answer belongs to this attempt: same `state` (in
    /// constant time), not too late, and for this purpose.
    public func accepts(state returned: String, for purpose: Purpose, now: Date) -> Bool {
        self.purpose == purpose && now < expiresAt && ConstantTime.equals(Array(state.utf8), Array(returned.utf8))
    }
}

/// Seals attempts for their cookie with XChaCha20-Poly1305 under a key
/// derived from the instance's `second-factor.key` (shared by instances on
/// one store), so a browser can neither read nor forge one.
public struct OpenIDAttemptSealer: Sendable {
    let key: SecureBytes
    static let additionalData = Array("samrom/oidc-attempt/v1".utf8)

    public init(deriving base: SecondFactorKey) {
        key = base.derivedKey(label: "samrom/oidc-attempt-key/v1")
    }

    public func seal(_ attempt: OpenIDAttempt) throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        let nonce = XChaCha20Poly1305.randomNonce()
        let sealed = try XChaCha20Poly1305.seal(Array(try encoder.encode(attempt)), additionalData: Self.additionalData, nonce: nonce, key: key)
        return Base64URL.encode(nonce + sealed)
    }

    /// Nil for anything this server did not seal, or changed.
    public func open(_ text: String) -> OpenIDAttempt? {
        guard text.utf8.count <= 1024, let bytes = try? Base64URL.decode(text),
            bytes.count > XChaCha20Poly1305.nonceLength + XChaCha20Poly1305.tagLength,
            let plain = try? XChaCha20Poly1305.open(
                Array(bytes[XChaCha20Poly1305.nonceLength...]), additionalData: Self.additionalData,
                nonce: Array(bytes[..<XChaCha20Poly1305.nonceLength]), key: key)
        else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return try? decoder.decode(OpenIDAttempt.self, from: plain.withUnsafeBytes { Data($0) })
    }
}
