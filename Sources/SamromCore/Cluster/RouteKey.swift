import Sodium

/// What a load balancer routes a consultation's WebSocket connections by
/// (issue 14): a keyed BLAKE2b hash of the consultation id under the
/// cluster's route secret, 16 bytes, base64url. Every participant of a
/// consultation carries the same key (`/ws?r=KEY`), so HAProxy's consistent
/// hash sends them all to one instance; the key reveals neither the id nor
/// any token, and without the secret it cannot be made for another id.
public struct RouteKey: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// Bytes of the route secret (`CallStore.routeSecret`).
    public static let secretLength = 32

    public static func of(_ consultation: ConsultationID, secret: [UInt8]) -> RouteKey {
        precondition(secret.count == secretLength, "the route secret is \(secretLength) bytes")
        let digest = try! GenericHash.hash(Array("samrom/route/v1|\(consultation.rawValue)".utf8), length: 16, key: SecureBytes(secret))
        return RouteKey(rawValue: Base64URL.encode(digest))
    }

    /// True for something that could be a route key (22 base64url characters).
    public static func isWellFormed(_ text: String) -> Bool {
        text.utf8.count == 22 && (try? Base64URL.decode(text, length: 16)) != nil
    }
}
