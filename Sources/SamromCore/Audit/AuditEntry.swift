import Foundation

/// A stored audit event with its sequence number, and its canonical bytes:
/// JSON with sorted keys and no spaces, the leaf of the audit log.
public struct AuditEntry: Sendable, Equatable {
    public var seq: UInt64
    public var event: AuditEvent

    public init(seq: UInt64, event: AuditEvent) {
        self.seq = seq
        self.event = event
    }

    /// Canonical JSON: keys sorted, no insignificant whitespace, `at` in UTC
    /// RFC 3339 with milliseconds, absent values as `null`.
    public func canonicalBytes() -> [UInt8] {
        let wire = Wire(
            action: event.action.rawValue,
            actor: .init(id: event.actor.id, kind: event.actor.kind.rawValue, role: event.actor.role),
            at: AuditEntry.timestamp(event.at),
            client: .init(ip: event.clientIP),
            consultation: event.consultation?.rawValue,
            outcome: event.outcome.rawValue,
            reason: event.reason,
            seq: seq)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try! encoder.encode(wire))
    }

    public static func decode(canonical bytes: [UInt8]) throws -> AuditEntry {
        let wire = try JSONDecoder().decode(Wire.self, from: Data(bytes))
        guard let at = parseTimestamp(wire.at),
            let kind = AuditActor.Kind(rawValue: wire.actor.kind),
            let outcome = AuditOutcome(rawValue: wire.outcome)
        else { throw StorageError(.corrupt, "audit entry \(wire.seq) has an unknown field value") }
        return AuditEntry(
            seq: wire.seq,
            event: AuditEvent(
                at: at, actor: AuditActor(kind: kind, id: wire.actor.id, role: wire.actor.role),
                action: AuditAction(rawValue: wire.action), consultation: wire.consultation.map(ConsultationID.init(rawValue:)),
                outcome: outcome, reason: wire.reason, clientIP: wire.client.ip))
    }

    public static func timestamp(_ date: Date) -> String {
        // Whole milliseconds, rounded down (also before 1970), in UTC. On
        // every audit append and chat message: no formatter is made per call.
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let (wholeSeconds, millisecond) = ms.quotientAndRemainder(dividingBy: 1000)
        var seconds = time_t(millisecond < 0 ? wholeSeconds - 1 : wholeSeconds)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(millisecond < 0 ? millisecond + 1000 : millisecond))
    }

    public static func parseTimestamp(_ text: String) -> Date? {
        // ICU, under Foundation's parser on Linux, overflows on long numbers:
        // a fraction of 10 digits reads as another second, one of about 33
        // raises SIGFPE and ends the process (found by scripts/fuzz.sh). So
        // only the RFC 3339 shape with at most 9 fractional digits reaches it.
        guard isRFC3339(text) else { return nil }
        let formatter = ISO8601DateFormatter()
        // The fraction is optional in RFC 3339; the formatter wants to be told.
        formatter.formatOptions = text.utf8.count > 19 && Array(text.utf8)[19] == UInt8(ascii: ".")
            ? [.withInternetDateTime, .withFractionalSeconds] : [.withInternetDateTime]
        return formatter.date(from: text)
    }

    /// `YYYY-MM-DDTHH:MM:SS[.1-9 digits](Z|±HH:MM)`, digits where digits belong.
    public static func isRFC3339(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        func digits(_ range: Range<Int>) -> Bool {
            range.upperBound <= bytes.count && bytes[range].allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        }
        guard bytes.count >= 20, digits(0..<4), bytes[4] == UInt8(ascii: "-"), digits(5..<7), bytes[7] == UInt8(ascii: "-"),
            digits(8..<10), bytes[10] == UInt8(ascii: "T"), digits(11..<13), bytes[13] == UInt8(ascii: ":"), digits(14..<16),
            bytes[16] == UInt8(ascii: ":"), digits(17..<19)
        else { return false }
        var index = 19
        if bytes[index] == UInt8(ascii: ".") {
            let count = bytes[(index + 1)...].prefix { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }.count
            guard (1...9).contains(count) else { return false }
            index += 1 + count
        }
        let zone = bytes[index...]
        if zone.elementsEqual([UInt8(ascii: "Z")]) { return true }
        return zone.count == 6 && (zone.first == UInt8(ascii: "+") || zone.first == UInt8(ascii: "-"))
            && digits((index + 1)..<(index + 3)) && bytes[index + 3] == UInt8(ascii: ":") && digits((index + 4)..<(index + 6))
    }

    private struct Wire: Codable {
        struct Actor: Codable {
            var id: String?
            var kind: String
            var role: String?
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(id, forKey: .id)
                try c.encode(kind, forKey: .kind)
                try c.encode(role, forKey: .role)
            }
            enum CodingKeys: String, CodingKey { case id, kind, role }
        }
        struct Client: Codable {
            var ip: String?
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(ip, forKey: .ip)
            }
            enum CodingKeys: String, CodingKey { case ip }
        }
        var action: String
        var actor: Actor
        var at: String
        var client: Client
        var consultation: String?
        var outcome: String
        var reason: String
        var seq: UInt64

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(action, forKey: .action)
            try c.encode(actor, forKey: .actor)
            try c.encode(at, forKey: .at)
            try c.encode(client, forKey: .client)
            try c.encode(consultation, forKey: .consultation)
            try c.encode(outcome, forKey: .outcome)
            try c.encode(reason, forKey: .reason)
            try c.encode(seq, forKey: .seq)
        }
        enum CodingKeys: String, CodingKey { case action, actor, at, client, consultation, outcome, reason, seq }
    }
}
