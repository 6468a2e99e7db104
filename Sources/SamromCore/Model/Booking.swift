import Foundation

/// A consultation's booked time: when the conversation starts and how long
/// it is expected to last. The deltaker's page says when it starts; the
/// lobby opens a set time before (`--lobby-opens-minutes`).
public struct Booking: Sendable, Equatable, Codable {
    public var startsAt: Date
    /// Expected length in minutes.
    public var minutes: Int

    public init(startsAt: Date, minutes: Int) {
        self.startsAt = startsAt
        self.minutes = minutes
    }

    /// From a store's two columns (seconds since 1970, minutes): both or
    /// neither, so a half-written booking reads as none.
    public init?(stored start: Double?, minutes: Int?) {
        guard let start, let minutes else { return nil }
        self.init(startsAt: Date(timeIntervalSince1970: start), minutes: minutes)
    }

    public var endsAt: Date { startsAt.addingTimeInterval(TimeInterval(minutes) * 60) }

    /// When deltakere and tolk may knock: `window` before the start.
    public func opensAt(window: TimeInterval) -> Date { startsAt.addingTimeInterval(-window) }

    /// Whether a link may knock at `now`; no booking means always.
    public static func lobbyIsOpen(_ booking: Booking?, window: TimeInterval, at now: Date) -> Bool {
        guard let booking else { return true }
        return now >= booking.opensAt(window: window)
    }

    /// Expected length: 5 minutes to 4 hours; 30 when not given.
    public static let minutesRange = 5...240
    public static let defaultMinutes = 30
    /// How long before the start the lobby opens unless configured.
    public static let defaultLobbyWindowMinutes = 15
}

extension Booking {
    public struct Refusal: Error, Equatable, Sendable {
        public let message: String
    }

    /// The one rule for a booked time: `minutes` within `minutesRange`
    /// (default 30), a start no more than an hour ago and early enough that
    /// the conversation ends within the longest validity (84 days from
    /// creation). Answers the booking and the consultation's expiry, which
    /// grows to at least a day after the booked end.
    public static func validated(
        startsAt: Date, minutes: Int?, createdAt: Date, expiresAt: Date, now: Date
    ) throws(Refusal) -> (booking: Booking, expiresAt: Date) {
        let minutes = minutes ?? defaultMinutes
        guard minutesRange.contains(minutes) else {
            throw Refusal(message: "minutes must be \(minutesRange.lowerBound) to \(minutesRange.upperBound).")
        }
        guard startsAt >= now.addingTimeInterval(-3600) else {
            throw Refusal(message: "startsAt is in the past.")
        }
        let booking = Booking(startsAt: startsAt, minutes: minutes)
        let latest = createdAt.addingTimeInterval(TimeInterval(Consultation.validDaysRange.upperBound) * 86_400)
        guard booking.endsAt <= latest else {
            throw Refusal(message: "A booked time must end within 84 days of the consultation's creation.")
        }
        return (booking, min(latest, max(expiresAt, booking.endsAt.addingTimeInterval(86_400))))
    }
}
