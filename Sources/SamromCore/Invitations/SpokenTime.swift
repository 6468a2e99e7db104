import Foundation

/// A moment as people read it in an invitation: «tirsdag 8. desember 2026
/// kl. 10.00» or «Tuesday 8 December 2026 at 10:00», in the centre's time
/// zone (`--time-zone`). The names are spelled here rather than taken from
/// the system's locale data, so every machine writes the same text.
public struct SpokenTime: Sendable {
    public let timeZone: TimeZone

    public init(timeZone: TimeZone) {
        self.timeZone = timeZone
    }

    public func day(_ date: Date, _ language: Language) -> String {
        let c = components(date)
        switch language {
        case .nb: return "\(Self.weekdaysNB[c.weekday! - 1]) \(c.day!). \(Self.monthsNB[c.month! - 1]) \(c.year!)"
        case .en: return "\(Self.weekdaysEN[c.weekday! - 1]) \(c.day!) \(Self.monthsEN[c.month! - 1]) \(c.year!)"
        }
    }

    /// «10.00» (Norwegian writes the hour and minute with a full stop) or «10:00».
    public func clock(_ date: Date, _ language: Language) -> String {
        let c = components(date)
        let separator = language == .nb ? "." : ":"
        return String(format: "%02d%@%02d", c.hour!, separator, c.minute!)
    }

    /// «tirsdag 8. desember 2026 kl. 10.00» / «Tuesday 8 December 2026 at 10:00».
    public func moment(_ date: Date, _ language: Language) -> String {
        switch language {
        case .nb: return "\(day(date, language)) kl. \(clock(date, language))"
        case .en: return "\(day(date, language)) at \(clock(date, language))"
        }
    }

    private func components(_ date: Date) -> DateComponents {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar.dateComponents([.year, .month, .day, .weekday, .hour, .minute], from: date)
    }

    // Calendar weekdays count from Sunday.
    static let weekdaysNB = ["søndag", "mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag"]
    static let weekdaysEN = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    static let monthsNB = [
        "januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september", "oktober", "november", "desember",
    ]
    static let monthsEN = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December",
    ]
}
