import Sodium

/// Public, typed identifiers. A secret (join, resume or session token) has its
/// own type in `SecretToken.swift`, so one can never be passed for the other.

/// An account's row id.
public struct AccountID: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
}

/// A consultation's public id: 16 random bytes, base64url. It appears in the
/// veileder's API paths; knowing it grants nothing without the owner's session.
public struct ConsultationID: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static func random() -> ConsultationID { .init(rawValue: Base64URL.encode(Random.bytes(16))) }
    public var description: String { rawValue }

    /// True for something that could be an id we issued (22 base64url chars).
    public static func isWellFormed(_ text: String) -> Bool {
        text.utf8.count == 22 && (try? Base64URL.decode(text, length: 16)) != nil
    }
}

/// A pseudonymous participant in a consultation's room; the only identity a
/// deltaker ever has (it is what the audit log records for them).
public struct ParticipantID: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static func random() -> ParticipantID { .init(rawValue: "p-" + Base64URL.encode(Random.bytes(9))) }
    public var description: String { rawValue }
}

/// One WebSocket connection, for the lifetime of that connection only.
public struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public var description: String { "c\(rawValue)" }
}
