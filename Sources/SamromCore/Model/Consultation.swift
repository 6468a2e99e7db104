import Foundation

/// A consultation: one veileder's room for one deltaker, from creation until
/// it is ended or its link expires. It never stores who the deltaker is.
public struct Consultation: Sendable, Equatable {
    public var id: ConsultationID
    public var owner: AccountID
    /// Optional, in the veileder's own words; never shown to the deltaker.
    public var title: String?
    public var createdAt: Date
    public var expiresAt: Date
    public var endedAt: Date?
    /// BLAKE2b hash of the current join token; older tokens are forgotten.
    public var linkHash: TokenHash
    public var linkIssuedAt: Date

    public init(
        id: ConsultationID, owner: AccountID, title: String?, createdAt: Date, expiresAt: Date,
        endedAt: Date? = nil, linkHash: TokenHash, linkIssuedAt: Date
    ) {
        self.id = id
        self.owner = owner
        self.title = title
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.endedAt = endedAt
        self.linkHash = linkHash
        self.linkIssuedAt = linkIssuedAt
    }

    public enum Status: String, Sendable, Codable {
        case active, ended, expired
    }

    public func status(at now: Date) -> Status {
        if endedAt != nil { return .ended }
        if now >= expiresAt { return .expired }
        return .active
    }

    /// Validity in days: default 14, at most 84 (one 12-week frisklivsresept).
    public static let defaultValidDays = 14
    public static let validDaysRange = 1...84
    /// Titles are short notes, not records.
    public static let maxTitleLength = 120
}
