import Foundation

/// One access, as it is handed to the audit sink. It names who, what, which
/// consultation, when, from where, the outcome and why — never content,
/// tokens, SDP or passwords (there is no field that could hold them).
public struct AuditEvent: Sendable, Equatable {
    public var at: Date
    public var actor: AuditActor
    public var action: AuditAction
    public var consultation: ConsultationID?
    public var outcome: AuditOutcome
    /// Why: the purpose of the access, or why it was denied.
    public var reason: String
    public var clientIP: String?

    public init(
        at: Date, actor: AuditActor, action: AuditAction, consultation: ConsultationID? = nil,
        outcome: AuditOutcome, reason: String, clientIP: String?
    ) {
        self.at = at
        self.actor = actor
        self.action = action
        self.consultation = consultation
        self.outcome = outcome
        self.reason = reason
        self.clientIP = clientIP
    }
}

public enum AuditOutcome: String, Sendable, Codable {
    case allowed, denied, error
}

/// Who acted: an account, a pseudonymous participant, the system itself, or
/// someone not (yet) identified (a failed login names no account).
public struct AuditActor: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable {
        case user, participant, system, anonymous
    }

    public var kind: Kind
    public var id: String?
    public var role: String?

    public init(kind: Kind, id: String?, role: String?) {
        self.kind = kind
        self.id = id
        self.role = role
    }

    public static func user(_ account: Account) -> AuditActor {
        .init(kind: .user, id: account.id.description, role: account.role.rawValue)
    }

    public static func participant(_ id: ParticipantID, role: ParticipantRole) -> AuditActor {
        .init(kind: .participant, id: id.rawValue, role: role.rawValue)
    }

    public static let system = AuditActor(kind: .system, id: nil, role: nil)
    public static let anonymous = AuditActor(kind: .anonymous, id: nil, role: nil)
}
