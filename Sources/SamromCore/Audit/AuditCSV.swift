import Foundation

/// The audit log as CSV (RFC 4180, UTF-8, CRLF line ends), for a
/// spreadsheet. JSONL is the verifiable form; CSV is for reading.
public enum AuditCSV {
    public static let header = "seq,at,actor_kind,actor_id,actor_role,action,consultation,outcome,reason,client_ip,leaf_hash\r\n"

    public static func line(_ record: AuditRecord) throws -> String {
        let leaf = Data(record.leafHash).base64EncodedString()
        guard let entry = try record.entry() else {
            return row(["\(record.seq)", "", "", "", "", "(erased)", "", "", "", "", leaf])
        }
        let event = entry.event
        return row([
            "\(entry.seq)", AuditEntry.timestamp(event.at), event.actor.kind.rawValue, event.actor.id ?? "", event.actor.role ?? "",
            event.action.rawValue, event.consultation?.rawValue ?? "", event.outcome.rawValue, event.reason, event.clientIP ?? "", leaf,
        ])
    }

    static func row(_ cells: [String]) -> String {
        cells.map(cell).joined(separator: ",") + "\r\n"
    }

    /// Quotes when needed, and defuses cells a spreadsheet would run as a
    /// formula (`=`, `+`, `-`, `@`, tab, CR at the start).
    static func cell(_ value: String) -> String {
        var text = value
        if let first = text.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) { text = "'" + text }
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
