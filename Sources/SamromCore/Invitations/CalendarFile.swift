import Foundation

/// An RFC 5545 calendar file with one event: a booked conversation. The
/// text is `Invitation`'s (the deltaker's copy) or the veileder's own note;
/// lines are escaped (§3.3.11) and folded at 75 octets without splitting a
/// UTF-8 character (§3.1), with CRLF line ends. Times are in UTC (`Z`), so
/// no time-zone definition is needed and every calendar shows local time.
public struct CalendarFile: Sendable, Equatable {
    /// Stable per consultation (so a changed time replaces the event), and
    /// not the consultation's id: a calendar synchronised to a cloud service
    /// learns nothing it could match against this server.
    public var uid: String
    public var booking: Booking
    public var summary: String
    public var description: String
    /// The join link, also as the event's URL property, when included.
    public var url: String?
    /// A reminder this many minutes before, as a display alarm.
    public var alarmMinutes: Int?
    /// When the file was made (DTSTAMP).
    public var stamp: Date

    public init(uid: String, booking: Booking, summary: String, description: String, url: String?, alarmMinutes: Int?, stamp: Date) {
        self.uid = uid
        self.booking = booking
        self.summary = summary
        self.description = description
        self.url = url
        self.alarmMinutes = alarmMinutes
        self.stamp = stamp
    }

    public static let mediaType = "text/calendar; charset=utf-8"

    public func text() -> String {
        var lines = [
            "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Samrom//Samrom//NO", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
            "BEGIN:VEVENT",
            "UID:" + Self.escaped(uid),
            "DTSTAMP:" + Self.utc(stamp),
            "DTSTART:" + Self.utc(booking.startsAt),
            "DTEND:" + Self.utc(booking.endsAt),
            "SUMMARY:" + Self.escaped(summary),
            "DESCRIPTION:" + Self.escaped(description),
        ]
        if let url { lines.append("URL:" + url) }
        lines += ["CLASS:PRIVATE", "TRANSP:OPAQUE"]
        if let alarmMinutes {
            lines += [
                "BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:" + Self.escaped(summary), "TRIGGER:-PT\(alarmMinutes)M", "END:VALARM",
            ]
        }
        lines += ["END:VEVENT", "END:VCALENDAR"]
        return lines.map(Self.folded).joined(separator: "\r\n") + "\r\n"
    }

    /// TEXT values: backslash, semicolon and comma escaped, line ends as `\n`.
    static func escaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case ";": out += "\\;"
            case ",": out += "\\,"
            case "\n": out += "\\n"
            case "\r": continue
            default:
                // Other control characters have no place in a calendar line.
                if scalar.properties.generalCategory == .control { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Lines longer than 75 octets go on in continuation lines that start
    /// with a space; a character is never split.
    static func folded(_ line: String) -> String {
        var parts: [String] = []
        var current = ""
        var octets = 0
        for character in line {
            let size = character.utf8.count
            let limit = parts.isEmpty ? 75 : 74  // a continuation's leading space counts
            if octets + size > limit {
                parts.append(current)
                current = ""
                octets = 0
            }
            current.append(character)
            octets += size
        }
        parts.append(current)
        return parts.joined(separator: "\r\n ")
    }

    static func utc(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d%02d%02dT%02d%02d%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }
}
