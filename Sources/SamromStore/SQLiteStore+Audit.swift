import Foundation
import GRDB
import GRDBSQLite
import SamromCore

extension SQLiteStore: AuditStore {
    public func appendAudit(_ event: AuditEvent) async throws -> AuditRecord {
        try await groupedWrite { db in try Self.insertAudit(event, db) }
    }

    /// The log's one sequencer: the next sequence number is taken inside the
    /// write transaction, which SQLite gives to one writer at a time, in
    /// this process or any other (`samrom user add` beside `serve`).
    static func insertAudit(_ event: AuditEvent, _ db: Database) throws -> AuditRecord {
        // Cached statements: an append is parsed once, not per entry.
        let next = try UInt64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(seq) + 1, 0) FROM auditEntry")) ?? 0
        let entry = AuditEntry(seq: next, event: event)
        let bytes = entry.canonicalBytes()
        let leafHash = MerkleTree.leafHash(bytes)
        try db.cachedStatement(
            sql: """
                INSERT INTO auditEntry (seq, leafHash, entry, atMs, actorId, action, consultation, outcome)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(
            arguments: [
                Int64(next), Data(leafHash), Data(bytes), Self.milliseconds(event.at), event.actor.id,
                event.action.rawValue, event.consultation?.rawValue, event.outcome.rawValue,
            ])
        return AuditRecord(seq: next, leafHash: leafHash, canonicalBytes: bytes)
    }

    public func auditEntries(from seq: UInt64, limit: Int) async throws -> [AuditEntry] {
        try await auditRecords(from: seq, limit: limit).compactMap { try $0.entry() }
    }

    public func auditRecords(from seq: UInt64, limit: Int) async throws -> [AuditRecord] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT seq, leafHash, entry FROM auditEntry WHERE seq >= ? ORDER BY seq LIMIT ?",
                arguments: [Int64(clamping: seq), limit]
            ).map(Self.record)
        }
    }

    public func auditBatch(from seq: UInt64, limit: Int) async throws -> AuditBatch {
        try await read { db in
            var batch = AuditBatch()
            batch.seqs.reserveCapacity(limit)
            batch.leafHashes.reserveCapacity(limit * MerkleTree.hashLength)
            batch.bytes.reserveCapacity(limit * 300)
            let statement = try db.makeStatement(
                sql: "SELECT seq, leafHash, entry FROM auditEntry WHERE seq >= ? ORDER BY seq LIMIT ?")
            statement.arguments = [Int64(clamping: seq), limit]
            // SQLite's C API straight: a million rows a second is the goal, and
            // the blobs are read where SQLite holds them, without copies.
            let raw = statement.sqliteStatement
            while true {
                let code = sqlite3_step(raw)
                if code == SQLITE_DONE { break }
                guard code == SQLITE_ROW else { throw DatabaseError(resultCode: ResultCode(rawValue: code)) }
                let seq = UInt64(bitPattern: sqlite3_column_int64(raw, 0))
                let hash = UnsafeRawBufferPointer(start: sqlite3_column_blob(raw, 1), count: Int(sqlite3_column_bytes(raw, 1)))
                if sqlite3_column_type(raw, 2) == SQLITE_NULL {
                    batch.append(seq: seq, leafHash: hash, entry: nil)
                } else {
                    let entry = UnsafeRawBufferPointer(start: sqlite3_column_blob(raw, 2), count: Int(sqlite3_column_bytes(raw, 2)))
                    batch.append(seq: seq, leafHash: hash, entry: entry)
                }
            }
            return batch
        }
    }

    public func auditRecords(matching filter: AuditFilter, limit: Int) async throws -> [AuditRecord] {
        var clauses = ["entry IS NOT NULL"]
        var arguments: [(any DatabaseValueConvertible)?] = []
        if let from = filter.from {
            clauses.append("atMs >= ?")
            arguments.append(Self.milliseconds(from))
        }
        if let to = filter.to {
            clauses.append("atMs < ?")
            arguments.append(Self.milliseconds(to))
        }
        if let actor = filter.actor {
            clauses.append("actorId = ?")
            arguments.append(actor)
        }
        if let consultation = filter.consultation {
            clauses.append("consultation = ?")
            arguments.append(consultation.rawValue)
        }
        if let action = filter.action {
            clauses.append("action = ?")
            arguments.append(action.rawValue)
        }
        if let outcome = filter.outcome {
            clauses.append("outcome = ?")
            arguments.append(outcome.rawValue)
        }
        if let after = filter.afterSeq {
            clauses.append("seq > ?")
            arguments.append(Int64(clamping: after))
        }
        arguments.append(limit)
        let sql = "SELECT seq, leafHash, entry FROM auditEntry WHERE " + clauses.joined(separator: " AND ") + " ORDER BY seq LIMIT ?"
        let statementArguments = StatementArguments(arguments)
        return try await read { db in
            try Row.fetchAll(db, sql: sql, arguments: statementArguments).map(Self.record)
        }
    }

    public func auditLeafHashes(from seq: UInt64, limit: Int) async throws -> [UInt8] {
        try await read { db in
            var hashes: [UInt8] = []
            hashes.reserveCapacity(limit * MerkleTree.hashLength)
            let rows = try Row.fetchCursor(
                db, sql: "SELECT leafHash FROM auditEntry WHERE seq >= ? ORDER BY seq LIMIT ?", arguments: [Int64(clamping: seq), limit])
            while let row = try rows.next() {
                let hash: Data = row[0]
                hashes.append(contentsOf: hash)
            }
            return hashes
        }
    }

    public func auditCount() async throws -> UInt64 {
        try await read { db in try UInt64.fetchOne(db, sql: "SELECT COUNT(*) FROM auditEntry") ?? 0 }
    }

    public func eraseAuditContent(
        before date: Date, declaring declaration: @escaping @Sendable (AuditErasureResult) -> AuditEvent
    ) async throws -> AuditErasureResult {
        try await write { db in
            // The longest prefix of the log older than `date` (AuditErasure):
            // up to the first entry that is not, whatever the clock did.
            let end =
                try Int64.fetchOne(
                    db,
                    sql: """
                        SELECT COALESCE(
                            (SELECT MIN(seq) FROM auditEntry WHERE entry IS NOT NULL AND atMs >= ?),
                            (SELECT COALESCE(MAX(seq) + 1, 0) FROM auditEntry))
                        """,
                    arguments: [Self.milliseconds(date)]) ?? 0
            try db.execute(
                sql: """
                    UPDATE auditEntry SET entry = NULL, atMs = NULL, actorId = NULL, action = NULL,
                        consultation = NULL, outcome = NULL
                    WHERE entry IS NOT NULL AND seq < ?
                    """,
                arguments: [end])
            let result = AuditErasureResult(erased: db.changesCount, end: UInt64(end))
            // In the same transaction: an erasure is never without its entry.
            if result.erased > 0 { _ = try Self.insertAudit(declaration(result), db) }
            return result
        }
    }

    public func insertAuditCheckpoint(size: UInt64, note: String, at: Date) async throws {
        _ = try await write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO auditCheckpoint (size, note, signedAt) VALUES (?, ?, ?)",
                arguments: [Int64(clamping: size), note, at.timeIntervalSince1970])
        }
    }

    public func latestAuditCheckpoint() async throws -> String? {
        try await read { db in try String.fetchOne(db, sql: "SELECT note FROM auditCheckpoint ORDER BY size DESC LIMIT 1") }
    }

    public func auditCheckpoints() async throws -> [String] {
        try await read { db in try String.fetchAll(db, sql: "SELECT note FROM auditCheckpoint ORDER BY size") }
    }

    static func record(_ row: Row) -> AuditRecord {
        let seq: Int64 = row["seq"]
        let leafHash: Data = row["leafHash"]
        let entry: Data? = row["entry"]
        return AuditRecord(seq: UInt64(seq), leafHash: Array(leafHash), canonicalBytes: entry.map(Array.init))
    }

    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }
}

extension SQLiteStore {
    public func auditVerifierKey(recording candidate: String?) async throws -> String? {
        try await firstStored("audit-verifier", candidate: candidate.map { Array($0.utf8) }).map { String(decoding: $0, as: UTF8.self) }
    }
}
