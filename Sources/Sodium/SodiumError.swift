/// A failure reported by libsodium or by our argument checks around it.
public struct SodiumError: Error, Equatable, CustomStringConvertible {
    /// Stable identifier, compared by tests and callers.
    public enum Code: String, Sendable {
        case invalidLength = "invalid-length"
        case invalidEncoding = "invalid-encoding"
        case verificationFailed = "verification-failed"
        case outOfMemory = "out-of-memory"
        case invalidPadding = "invalid-padding"
        case failed = "failed"
    }

    public let code: Code
    public let reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(code.rawValue): \(reason)" }
}
