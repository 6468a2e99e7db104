import Foundation

/// A change made on one instance that the others must act on (issue 14):
/// the call of a consultation may be homed on any of them. Sent after the
/// change is committed; carries ids only, never a token or a name.
public enum ClusterEvent: Sendable, Equatable {
    /// Ended over HTTP: its call closes wherever it is.
    case consultationEnded(ConsultationID)
    /// A new link for a role: whoever waits with the old one goes.
    case linkReplaced(ConsultationID, ParticipantRole)
    /// An account was disabled: its open calls close.
    case accountDisabled(AccountID)
}

/// What a cluster channel hands its listener.
public enum ClusterDelivery: Sendable, Equatable {
    /// An event some instance published (`from` is its holder id).
    case event(ClusterEvent, from: String)
    /// Events may have been missed (the channel was down): check the
    /// store for what they would have said.
    case resynchronise
}

/// How instances on one store tell each other of `ClusterEvent`s: on
/// PostgreSQL, LISTEN/NOTIFY on a dedicated connection. Nothing that a
/// call's set-up sends goes this way: only these control events.
public protocol ClusterChannel: Sendable {
    /// Tells every instance listening, this one included.
    func publish(_ event: ClusterEvent, from holder: String) async throws
    /// Delivers every event published from now on, until cancelled; a
    /// `.resynchronise` each time the channel (re)connects after a failure.
    /// Reconnects by itself; returns only when cancelled.
    func listen(_ deliver: @escaping @Sendable (ClusterDelivery) async -> Void) async
}

extension ClusterEvent {
    /// The wire form: `ended <id>`, `link <id> <role>`, `account <id>`,
    /// each line prefixed by the publisher's holder id.
    public func payload(from holder: String) -> String {
        switch self {
        case .consultationEnded(let id): "\(holder) ended \(id.rawValue)"
        case .linkReplaced(let id, let role): "\(holder) link \(id.rawValue) \(role.rawValue)"
        case .accountDisabled(let id): "\(holder) account \(id.rawValue)"
        }
    }

    /// Parses `payload(from:)`; nil for anything else (ignored, never fatal).
    public static func parse(_ payload: String) -> (ClusterEvent, from: String)? {
        let parts = payload.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3, !parts[0].isEmpty else { return nil }
        switch (parts[1], parts.count) {
        case ("ended", 3) where ConsultationID.isWellFormed(parts[2]):
            return (.consultationEnded(ConsultationID(rawValue: parts[2])), parts[0])
        case ("link", 4) where ConsultationID.isWellFormed(parts[2]):
            guard let role = ParticipantRole(rawValue: parts[3]), ParticipantRole.invited.contains(role) else { return nil }
            return (.linkReplaced(ConsultationID(rawValue: parts[2]), role), parts[0])
        case ("account", 3):
            // Only the form `payload` writes: Int64 also reads "+5" and "05".
            guard let raw = Int64(parts[2]), String(raw) == parts[2] else { return nil }
            return (.accountDisabled(AccountID(rawValue: raw)), parts[0])
        default:
            return nil
        }
    }
}
