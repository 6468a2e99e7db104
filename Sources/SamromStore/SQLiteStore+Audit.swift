import Foundation
import GRDB
import SamromCore

extension SQLiteStore: AuditStore {
    public func appendAudit(_ event: AuditEvent) async throws -> UInt64 {
        try await write { db in
            let next = try UInt64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq) + 1, 0) FROM auditEntry") ?? 0
            let entry = AuditEntry(seq: next, event: event)
            try db.execute(
                sql: "INSERT INTO auditEntry (seq, entry) VALUES (?, ?)",
                arguments: [Int64(next), Data(entry.canonicalBytes())])
            return next
        }
    }

    public func auditEntries(from seq: UInt64, limit: Int) async throws -> [AuditEntry] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT seq, entry FROM auditEntry WHERE seq >= ? ORDER BY seq LIMIT ?",
                arguments: [Int64(seq), limit]
            ).map { row in try AuditEntry.decode(canonical: Array(row["entry"] as Data)) }
        }
    }
}

/// The audit sink backed by the store: `record` returns after the commit.
public struct StoreAuditSink: AuditSink {
    let store: any AuditStore
    public init(store: any AuditStore) { self.store = store }

    public func record(_ event: AuditEvent) async throws {
        _ = try await store.appendAudit(event)
    }
}
