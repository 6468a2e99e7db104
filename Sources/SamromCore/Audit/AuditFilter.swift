import Foundation

/// What the personvernombud asks the log for. Every field narrows; nil means any.
public struct AuditFilter: Sendable, Equatable {
    public var from: Date?
    public var to: Date?
    /// An account id, or a participant id.
    public var actor: String?
    public var consultation: ConsultationID?
    public var action: AuditAction?
    public var outcome: AuditOutcome?
    /// Only entries after this sequence number (paging).
    public var afterSeq: UInt64?

    public init(
        from: Date? = nil, to: Date? = nil, actor: String? = nil, consultation: ConsultationID? = nil,
        action: AuditAction? = nil, outcome: AuditOutcome? = nil, afterSeq: UInt64? = nil
    ) {
        self.from = from
        self.to = to
        self.actor = actor
        self.consultation = consultation
        self.action = action
        self.outcome = outcome
        self.afterSeq = afterSeq
    }

    /// What was searched for, for the search's own audit entry (the
    /// consultation goes in the entry's own field, so that the search shows
    /// in that deltaker's access report): `action=login, outcome=denied`.
    public var searched: String {
        var parts: [String] = []
        if let actor { parts.append("actor=\(actor)") }
        if let consultation { parts.append("consultation=\(consultation.rawValue)") }
        if let action { parts.append("action=\(action.rawValue)") }
        if let outcome { parts.append("outcome=\(outcome.rawValue)") }
        if let from { parts.append("from=\(AuditEntry.timestamp(from))") }
        if let to { parts.append("to=\(AuditEntry.timestamp(to))") }
        if let afterSeq { parts.append("after=\(afterSeq)") }
        return parts.isEmpty ? "the whole log" : parts.joined(separator: ", ")
    }
}
