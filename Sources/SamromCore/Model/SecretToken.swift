import Sodium

/// A bearer secret: 32 random bytes, base64url. Only its BLAKE2b hash is ever
/// stored; the description is redacted so it cannot reach a log by accident.
public struct SecretToken<Kind: SecretTokenKind>: Sendable, Hashable, CustomStringConvertible {
    public static var byteCount: Int { 32 }

    /// The encoded token, to put on the wire exactly once.
    public let encoded: String

    public init(encoded: String) { self.encoded = encoded }

    public static func random() -> Self { .init(encoded: Base64URL.encode(Random.bytes(byteCount))) }

    /// Parses a token a client sent; nil unless it decodes to exactly 32 bytes.
    public static func parse(_ text: String) -> Self? {
        guard text.utf8.count == 43, (try? Base64URL.decode(text, length: byteCount)) != nil else { return nil }
        return .init(encoded: text)
    }

    /// BLAKE2b-256 of the token, domain-separated by kind: what storage keeps.
    public var hash: TokenHash {
        let input = Array(Kind.domain.utf8) + [0] + Array(encoded.utf8)
        return TokenHash(bytes: try! GenericHash.hash(input, length: 32))
    }

    public var description: String { "\(Kind.self)(redacted)" }
}

/// What a token is for; the domain string separates their hashes.
public protocol SecretTokenKind: Sendable { static var domain: String { get } }

public enum JoinTokenKind: SecretTokenKind { public static let domain = "samrom/join/v1" }
public enum ResumeTokenKind: SecretTokenKind { public static let domain = "samrom/resume/v1" }
public enum SessionTokenKind: SecretTokenKind { public static let domain = "samrom/session/v1" }
public enum PendingLoginTokenKind: SecretTokenKind { public static let domain = "samrom/pending-login/v1" }

/// The deltaker's join link secret (carried in the URL fragment).
public typealias JoinToken = SecretToken<JoinTokenKind>
/// The secret that lets a dropped participant come back without knocking.
public typealias ResumeToken = SecretToken<ResumeTokenKind>
/// The login session secret in the `samrom_session` cookie.
public typealias SessionToken = SecretToken<SessionTokenKind>
/// A login waiting for its second step, in the `samrom_pending` cookie.
public typealias PendingLoginToken = SecretToken<PendingLoginTokenKind>

/// A token's stored hash, compared in constant time.
public struct TokenHash: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]
    public init(bytes: [UInt8]) { self.bytes = bytes }

    public func matches(_ other: TokenHash) -> Bool { ConstantTime.equals(bytes, other.bytes) }

    public var description: String { "TokenHash(redacted)" }
}
