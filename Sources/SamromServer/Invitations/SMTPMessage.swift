import Foundation

/// The message an `OutgoingMail` becomes (RFC 5322 and MIME): headers, a
/// blank line and the body in quoted-printable, every line ending in CRLF
/// and none longer than 78 characters, so it travels through any SMTP server
/// unchanged. `dataBlock` is what goes after DATA: dot-stuffed and ended
/// with the lone ".".
enum SMTPMessage {
    /// The whole message, with CRLF line endings (not yet dot-stuffed).
    static func render(_ mail: OutgoingMail, from: String, date: Date, messageID: String) -> String {
        var lines = [
            "Date: \(rfc5322Date(date))",
            "From: \(from)",
            "To: \(mail.to)",
            "Subject: " + encodedSubject(mail.subject),
            "Message-ID: <\(messageID)>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            "",
        ]
        lines.append(quotedPrintable(mail.body))
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// A new Message-ID for a mail from `from`: random, at the sender's domain.
    static func messageID(from: String) -> String {
        let domain = from.split(separator: "@").last.map(String.init) ?? "localhost"
        return UUID().uuidString.lowercased() + "@" + domain
    }

    /// What is sent after DATA: `message` with every line that starts with
    /// "." given another one (RFC 5321 §4.5.2), then ".".
    static func dataBlock(_ message: String) -> String {
        var lines = message.components(separatedBy: "\r\n")
        if lines.last == "" { lines.removeLast() }
        return lines.map { $0.hasPrefix(".") ? "." + $0 : $0 }.joined(separator: "\r\n") + "\r\n.\r\n"
    }

    /// `Sun, 06 Dec 2026 09:00:00 +0000` (RFC 5322 §3.3), in UTC.
    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.string(from: date)
    }

    /// The subject as it goes after "Subject: ". Plain printable ASCII that
    /// fits on one line stays as it is; anything else becomes RFC 2047
    /// encoded words (`=?utf-8?B?…?=`, base64 of whole characters, at most
    /// 64 characters each) folded onto continuation lines. The caller has
    /// checked `OutgoingMail.isSafeSubject`, so there is no CR or LF to fold.
    static func encodedSubject(_ subject: String) -> String {
        let plain = subject.unicodeScalars.allSatisfy { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F }
        if plain && subject.utf8.count <= 66 && !subject.contains("=?") { return subject }
        // 39 bytes of UTF-8 are 52 base64 characters: "=?utf-8?B?" + 52 + "?=" = 64,
        // and "Subject: " before the first makes 73 (RFC 2047 §2: at most 76).
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in subject {
            let bytes = Array(String(character).utf8)
            if !chunk.isEmpty && chunk.count + bytes.count > 39 {
                words.append(encodedWord(chunk))
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty || words.isEmpty { words.append(encodedWord(chunk)) }
        return words.joined(separator: "\r\n ")
    }

    private static func encodedWord(_ bytes: [UInt8]) -> String {
        "=?utf-8?B?" + Data(bytes).base64EncodedString() + "?="
    }

    /// `text` in quoted-printable (RFC 2045 §6.7) with CRLF line endings:
    /// its own line breaks (CRLF, CR or LF) become hard breaks, and lines are
    /// broken softly ("=" at the end) to stay within 76 characters. Only
    /// printable ASCII other than "=" stays as it is; a space or tab at the
    /// end of a line is encoded so no server can strip it.
    static func quotedPrintable(_ text: String) -> String {
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        let hex = Array("0123456789ABCDEF".utf8)
        func escaped(_ byte: UInt8) -> [UInt8] { [UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]] }
        var out: [String] = []
        var lines = normalized.split(separator: "\n", omittingEmptySubsequences: false)
        // The message ends with a line break anyway: a final one is not another line.
        if lines.count > 1 && lines.last == "" { lines.removeLast() }
        for line in lines {
            let bytes = Array(line.utf8)
            var current: [UInt8] = []
            for (index, byte) in bytes.enumerated() {
                let isLast = index == bytes.count - 1
                let literal = (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "=")) || ((byte == 0x20 || byte == 0x09) && !isLast)
                let token = literal ? [byte] : escaped(byte)
                // 75 characters and the soft break's "=" make 76; a space
                // before that "=" is not at the end of the line, so it stays.
                if current.count + token.count > 75 {
                    out.append(String(decoding: current, as: UTF8.self) + "=")
                    current = []
                }
                current += token
            }
            out.append(String(decoding: current, as: UTF8.self))
        }
        return out.joined(separator: "\r\n")
    }
}
