import Foundation

/// A protocol error sent to a client as `{"type":"error","code","message"}`.
/// Codes are stable; messages are for humans and never echo client input.
public struct SignalError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Codable, CaseIterable {
        // The frame itself
        case badJSON = "bad-json"
        case unknownType = "unknown-type"
        case badField = "bad-field"
        case tooLarge = "too-large"
        case rateLimited = "rate-limited"
        // Who may do what
        case helloRequired = "hello-required"
        case alreadyJoined = "already-joined"
        case forbidden
        case notAdmitted = "not-admitted"
        case invalidToken = "invalid-token"
        case expired
        case ended
        /// A link used before the lobby of a booked consultation opens.
        case tooEarly = "too-early"
        case roomFull = "room-full"
        case peerAbsent = "peer-absent"
        /// A `signal` or chat copy addressed to someone not in this call.
        case notInCall = "not-in-call"
        case notWaiting = "not-waiting"
        /// The consultation's stored chat reached its limit (`ChatQuota`).
        case chatFull = "chat-full"
        // The connection
        case helloTimeout = "hello-timeout"
        case sessionReplaced = "session-replaced"
        case internalError = "internal"
    }

    public let code: Code
    public let message: String
    /// With `too-early`: when the conversation starts and the lobby opens.
    public let lobbyOpens: LobbyOpens?

    public struct LobbyOpens: Sendable, Equatable {
        public let startsAt: Date
        public let opensAt: Date
        public init(startsAt: Date, opensAt: Date) {
            self.startsAt = startsAt
            self.opensAt = opensAt
        }
    }

    public init(_ code: Code, _ message: String, lobbyOpens: LobbyOpens? = nil) {
        self.code = code
        self.message = message
        self.lobbyOpens = lobbyOpens
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// The stable code of any error, for the audit log: `internal` unless it is a `SignalError`.
    public static func code(of error: any Error) -> String {
        ((error as? SignalError)?.code ?? .internalError).rawValue
    }

    /// Whether the connection must close after this error is sent, and how.
    /// Frame-level mistakes keep the connection; failed authentication and
    /// policy decisions end it.
    public var closeCode: WebSocketCloseCode? {
        switch code {
        case .badJSON, .unknownType, .badField, .tooLarge, .rateLimited, .helloRequired,
            .alreadyJoined, .forbidden, .notAdmitted, .peerAbsent, .notInCall, .notWaiting, .chatFull:
            return nil
        // room-full closes only a hello (a knock into a full lobby); a veileder's
        // admit into a full call is answered and the veileder stays.
        case .invalidToken, .expired, .ended, .roomFull, .helloTimeout, .sessionReplaced:
            return .policyViolation
        // Nothing is wrong: the page comes back when the lobby opens.
        case .tooEarly:
            return .normal
        case .internalError:
            return .internalError
        }
    }
}

/// The WebSocket close codes Samrom uses (RFC 6455 §7.4.1).
public enum WebSocketCloseCode: UInt16, Sendable {
    case normal = 1000
    case goingAway = 1001
    case policyViolation = 1008
    case messageTooBig = 1009
    case internalError = 1011
}
