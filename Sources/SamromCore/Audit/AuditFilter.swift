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
}
