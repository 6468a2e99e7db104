import Foundation

/// A calendar month of the anonymous figures, written `YYYY-MM` ("2026-11").
///
/// Its boundaries are local midnights in a given time zone (the server's
/// `--time-zone`, Europe/Oslo by default), found through the Gregorian
/// calendar, so a month that holds a change to or from summer time is an
/// hour shorter or longer than its days times 24 hours and still ends at the
/// next month's first local midnight.
public struct ReportMonth: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    /// 1...12.
    public let month: Int

    /// The years a report may name.
    public static let years = 2000...2100

    /// Nil outside `years` or for a month that is not 1...12.
    public init?(year: Int, month: Int) {
        guard Self.years.contains(year), (1...12).contains(month) else { return nil }
        self.year = year
        self.month = month
    }

    /// Exactly `YYYY-MM`: four ASCII digits, a hyphen, two ASCII digits, a
    /// year in `years` and a month 01...12. Nothing else is read: "2026-1",
    /// "26-01", "2026-13", " 2026-01", "2026-01-05" and "" are all nil.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        let digit = UInt8(ascii: "0")...UInt8(ascii: "9")
        guard bytes.count == 7, bytes[4] == UInt8(ascii: "-"),
            bytes[0..<4].allSatisfy(digit.contains), bytes[5..<7].allSatisfy(digit.contains),
            let year = Int(String(decoding: bytes[0..<4], as: UTF8.self)),
            let month = Int(String(decoding: bytes[5..<7], as: UTF8.self))
        else { return nil }
        self.init(year: year, month: month)
    }

    /// The month `date` falls in, in `timeZone` (nil outside `years`).
    public static func containing(_ date: Date, in timeZone: TimeZone) -> ReportMonth? {
        let parts = calendar(timeZone).dateComponents([.year, .month], from: date)
        guard let year = parts.year, let month = parts.month else { return nil }
        return ReportMonth(year: year, month: month)
    }

    /// "2026-11" (a year in `years` has four digits).
    public var description: String { "\(year)-" + (month < 10 ? "0" : "") + "\(month)" }

    /// The month before (nil before 2000-01).
    public var previous: ReportMonth? {
        month == 1 ? ReportMonth(year: year - 1, month: 12) : ReportMonth(year: year, month: month - 1)
    }

    /// The month after (nil after 2100-12).
    public var next: ReportMonth? {
        month == 12 ? ReportMonth(year: year + 1, month: 1) : ReportMonth(year: year, month: month + 1)
    }

    /// The first instant of the month: local midnight on its first day.
    public func start(in timeZone: TimeZone) -> Date {
        Self.firstInstant(year: year, month: month, in: timeZone)
    }

    /// The first instant after the month: local midnight on the next month's first day.
    public func end(in timeZone: TimeZone) -> Date {
        month == 12
            ? Self.firstInstant(year: year + 1, month: 1, in: timeZone)
            : Self.firstInstant(year: year, month: month + 1, in: timeZone)
    }

    /// `start..<end`: an instant exactly at the next month's first midnight is the next month's.
    public func range(in timeZone: TimeZone) -> Range<Date> {
        start(in: timeZone)..<end(in: timeZone)
    }

    public static func < (a: ReportMonth, b: ReportMonth) -> Bool {
        (a.year, a.month) < (b.year, b.month)
    }

    static func calendar(_ timeZone: TimeZone) -> Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar
    }

    private static func firstInstant(year: Int, month: Int, in timeZone: TimeZone) -> Date {
        // Always a valid date; where a zone skips midnight the calendar gives
        // the first local time of that day.
        calendar(timeZone).date(from: DateComponents(year: year, month: month, day: 1, hour: 0, minute: 0, second: 0))!
    }
}
