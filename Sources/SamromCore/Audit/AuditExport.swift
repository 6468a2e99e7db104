/// The audit log written out in order, page by page, so the whole log never
/// sits in memory: JSONL (each line exactly one entry's canonical bytes, or
/// the erased form) or CSV. The HTTP export and `samrom audit export` share it.
public enum AuditExportFormat: String, Sendable, CaseIterable {
    case jsonl, csv

    public var contentType: String {
        switch self {
        case .jsonl: "application/x-ndjson"
        case .csv: "text/csv; charset=utf-8"
        }
    }

    /// The bytes of one page of records.
    public func bytes(_ records: [AuditRecord]) throws -> [UInt8] {
        var out: [UInt8] = []
        for record in records {
            switch self {
            case .jsonl: out += record.exportLine + [0x0A]
            case .csv: out += Array(try AuditCSV.line(record).utf8)
            }
        }
        return out
    }

    /// Calls `write` with the header (CSV) and then every page, until the log ends.
    public func export(from store: any AuditStore, pageSize: Int = 2000, _ write: ([UInt8]) async throws -> Void) async throws {
        if self == .csv { try await write(Array(AuditCSV.header.utf8)) }
        var next: UInt64 = 0
        while true {
            let page = try await store.auditRecords(from: next, limit: pageSize)
            guard let last = page.last else { return }
            try await write(try bytes(page))
            next = last.seq + 1
        }
    }
}
