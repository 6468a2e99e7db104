/// What was done. A struct rather than a closed enum so that later modules
/// (chat, audit reads) add their own actions next to their code.
public struct AuditAction: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    // Accounts and sessions
    public static let login = AuditAction(rawValue: "login")
    public static let logout = AuditAction(rawValue: "logout")
    public static let accountCreate = AuditAction(rawValue: "account.create")
    public static let accountDisable = AuditAction(rawValue: "account.disable")
    /// An account linked to (or unlinked from) an identity provider's claim value.
    public static let accountIdentity = AuditAction(rawValue: "account.identity")
    /// A right password that still needs a second step (a code, or enrolling one).
    public static let loginPending = AuditAction(rawValue: "login.pending")

    // The second factor (never a code, secret or recovery code)
    public static let secondFactorEnrol = AuditAction(rawValue: "second-factor.enrol")
    public static let secondFactorConfirm = AuditAction(rawValue: "second-factor.confirm")
    public static let secondFactorReset = AuditAction(rawValue: "second-factor.reset")
    /// A deltaker logged in with ID-porten before knocking (or failed to).
    public static let identityVerify = AuditAction(rawValue: "identity.id-porten")

    // Consultations
    public static let consultationCreate = AuditAction(rawValue: "consultation.create")
    public static let consultationNewLink = AuditAction(rawValue: "consultation.link")
    public static let consultationEnd = AuditAction(rawValue: "consultation.end")
    /// A booked time set, moved or removed.
    public static let consultationBooking = AuditAction(rawValue: "consultation.booking")

    // The room
    public static let join = AuditAction(rawValue: "room.join")
    public static let knock = AuditAction(rawValue: "room.knock")
    public static let admit = AuditAction(rawValue: "room.admit")
    public static let deny = AuditAction(rawValue: "room.deny")
    public static let resume = AuditAction(rawValue: "room.resume")
    public static let leave = AuditAction(rawValue: "room.leave")
    /// The veileder asked someone in the lobby to wait, with a short message (never logged).
    public static let hold = AuditAction(rawValue: "room.hold")
    /// The owning veileder's page said whether video is used in the call
    /// (reason: a `CallMedia` raw value), for the anonymous figures only.
    public static let media = AuditAction(rawValue: "room.media")

    // Invitations (never an address or a phone number) and the figures
    public static let invitationSend = AuditAction(rawValue: "invitation.send")
    public static let invitationCalendar = AuditAction(rawValue: "invitation.calendar")
    public static let statsRead = AuditAction(rawValue: "stats.read")

    // The audit log itself: every read is logged, with its stated purpose.
    public static let auditSearch = AuditAction(rawValue: "audit.search")
    public static let auditExport = AuditAction(rawValue: "audit.export")
    public static let auditVerify = AuditAction(rawValue: "audit.verify")
    public static let auditProof = AuditAction(rawValue: "audit.proof")
    public static let auditCheckpoint = AuditAction(rawValue: "audit.checkpoint")
    /// A deltaker's own "who has seen my consultation" report.
    public static let accessReport = AuditAction(rawValue: "audit.access-report")

    // End-to-end keys and chat (never content): a device key announced in a call
    public static let deviceKey = AuditAction(rawValue: "room.key")
    public static let chatHistory = AuditAction(rawValue: "chat.history")

    // Retention
    public static let purge = AuditAction(rawValue: "purge")
}
