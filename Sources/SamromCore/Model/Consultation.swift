import Foundation

/// A consultation: one veileder's room for a deltaker (or a group, with a
/// tolk when needed), from creation until it is ended or expires. It never
/// stores who takes part; its join links are `JoinLink`s, one per invited role.
public struct Consultation: Sendable, Equatable {
    public var id: ConsultationID
    public var owner: AccountID
    /// Optional, in the veileder's own words; never shown to the deltaker.
    public var title: String?
    public var createdAt: Date
    public var expiresAt: Date
    public var endedAt: Date?
    /// The booked time, when the veileder gave one.
    public var booking: Booking?

    public init(
        id: ConsultationID, owner: AccountID, title: String?, createdAt: Date, expiresAt: Date,
        endedAt: Date? = nil, booking: Booking? = nil
    ) {
        self.id = id
        self.owner = owner
        self.title = title
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.endedAt = endedAt
        self.booking = booking
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
