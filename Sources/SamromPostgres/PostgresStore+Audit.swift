import Foundation
import PostgresNIO
import SamromCore

extension PostgresStore: AuditStore {
    public func appendAudit(_ event: AuditEvent) async throws -> AuditRecord {
        try await sequencer.append(event)
    }

    public func auditEntries(from seq: UInt64, limit: Int) async throws -> [AuditEntry] {
        try await auditRecords(from: seq, limit: limit).compactMap { try $0.entry() }
    }

    public func auditRecords(from seq: UInt64, limit: Int) async throws -> [AuditRecord] {
        try await access.rows(
            "SELECT seq, leaf_hash, entry FROM audit_entry WHERE seq >= \(Int64(clamping: seq)) ORDER BY seq LIMIT \(Self.rowLimit(limit))",
            "reading the audit log"
        ).map(Self.record)
    }

    public func auditBatch(from seq: UInt64, limit: Int) async throws -> AuditBatch {
        var batch = AuditBatch()
        batch.seqs.reserveCapacity(max(0, min(limit, 1 << 20)))
        do {
            let rows = try await access.client.query(
                "SELECT seq, leaf_hash, entry FROM audit_entry WHERE seq >= \(Int64(clamping: seq)) ORDER BY seq LIMIT \(Self.rowLimit(limit))",
                logger: access.logger)
            // Straight from the rows' buffers into the flat ones, as they arrive.
            for try await row in rows {
                let (seq, leafHash, entry) = try row.decode((Int64, ByteBuffer, ByteBuffer?).self)
                leafHash.withUnsafeReadableBytes { hash in
                    if let entry {
                        entry.withUnsafeReadableBytes { bytes in batch.append(seq: UInt64(clamping: seq), leafHash: hash, entry: bytes) }
                    } else {
                        batch.append(seq: UInt64(clamping: seq), leafHash: hash, entry: nil)
                    }
                }
            }
        } catch {
            throw PostgresAccess.storageError(error, "reading the audit log")
        }
        return batch
    }

    public func auditRecords(matching filter: AuditFilter, limit: Int) async throws -> [AuditRecord] {
        var clauses = ["entry IS NOT NULL"]
        var binds = PostgresBindings()
        func bind(_ clause: String, _ value: some PostgresDynamicTypeEncodable) {
            binds.append(value)
            clauses.append(clause.replacingOccurrences(of: "?", with: "$\(binds.count)"))
        }
        if let from = filter.from { bind("at_ms >= ?", Self.milliseconds(from)) }
        if let to = filter.to { bind("at_ms < ?", Self.milliseconds(to)) }
        if let actor = filter.actor { bind("actor_id = ?", actor) }
        if let consultation = filter.consultation { bind("consultation = ?", consultation.rawValue) }
        if let action = filter.action { bind("action = ?", action.rawValue) }
        if let outcome = filter.outcome { bind("outcome = ?", outcome.rawValue) }
        if let after = filter.afterSeq { bind("seq > ?", Int64(clamping: after)) }
        binds.append(Self.rowLimit(limit))
        let sql = "SELECT seq, leaf_hash, entry FROM audit_entry WHERE " + clauses.joined(separator: " AND ")
            + " ORDER BY seq LIMIT $\(binds.count)"
        return try await access.rows(PostgresQuery(unsafeSQL: sql, binds: binds), "searching the audit log").map(Self.record)
    }

    public func auditLeafHashes(from seq: UInt64, limit: Int) async throws -> [UInt8] {
        var hashes: [UInt8] = []
        hashes.reserveCapacity(max(0, min(limit, 1 << 20)) * MerkleTree.hashLength)
        do {
            let rows = try await access.client.query(
                "SELECT leaf_hash FROM audit_entry WHERE seq >= \(Int64(clamping: seq)) ORDER BY seq LIMIT \(Self.rowLimit(limit))",
                logger: access.logger)
            for try await row in rows {
                let hash = try row.decode(ByteBuffer.self)
                hash.withUnsafeReadableBytes { hashes.append(contentsOf: $0) }
            }
        } catch {
            throw PostgresAccess.storageError(error, "reading the audit log")
        }
        return hashes
    }

    /// The head's next sequence number: the log is contiguous from 0, so it
    /// is the count, without counting a million rows.
    public func auditCount() async throws -> UInt64 {
        let row = try await access.rows("SELECT next_seq FROM audit_head", "reading the audit log's head").first
        return UInt64(clamping: try row?.decode(Int64.self) ?? 0)
    }

    public func eraseAuditContent(
        before date: Date, declaring declaration: @escaping @Sendable (AuditErasureResult) -> AuditEvent
    ) async throws -> AuditErasureResult {
        let logger = access.logger
        return try await access.transaction("erasing old audit content") { connection in
            // The head first: no append comes between the erasure and its
            // declaration, here or on another instance.
            let head = try await connection.query("SELECT next_seq FROM audit_head FOR UPDATE", logger: logger).collect()
            let next = try head.first?.decode(Int64.self) ?? 0
            // The longest prefix of the log older than `date` (AuditErasure):
            // up to the first entry that is not, whatever the clock did.
            let cutoff = Self.milliseconds(date)
            let end = try await connection.query(
                "SELECT COALESCE(MIN(seq), \(next)) FROM audit_entry WHERE entry IS NOT NULL AND at_ms >= \(cutoff)",
                logger: logger
            ).collect().first?.decode(Int64.self) ?? next
            let erased = try await connection.query(
                """
                WITH erased AS (
                    UPDATE audit_entry SET entry = NULL, at_ms = NULL, actor_id = NULL, action = NULL,
                        consultation = NULL, outcome = NULL
                    WHERE entry IS NOT NULL AND seq < \(end)
                    RETURNING 1)
                SELECT COUNT(*) FROM erased
                """,
                logger: logger
            ).collect().first?.decode(Int.self) ?? 0
            let result = AuditErasureResult(erased: erased, end: UInt64(clamping: end))
            // In the same transaction: an erasure is never without its entry.
            if result.erased > 0 {
                _ = try await PostgresAuditSequencer.insert([declaration(result)], on: connection, logger: logger)
            }
            return result
        }
    }

    public func insertAuditCheckpoint(size: UInt64, note: String, at: Date) async throws {
        try await access.execute(
            """
            INSERT INTO audit_checkpoint (size, note, signed_at) VALUES (\(Int64(clamping: size)), \(note), \(at.timeIntervalSince1970))
            ON CONFLICT (size) DO NOTHING
            """,
            "storing an audit checkpoint")
    }

    public func latestAuditCheckpoint() async throws -> String? {
        try await access.rows("SELECT note FROM audit_checkpoint ORDER BY size DESC LIMIT 1", "reading audit checkpoints")
            .first?.decode(String.self)
    }

    public func auditCheckpoints() async throws -> [String] {
        try await access.rows("SELECT note FROM audit_checkpoint ORDER BY size", "reading audit checkpoints")
            .map { try $0.decode(String.self) }
    }

    static func record(_ row: PostgresRow) throws -> AuditRecord {
        let (seq, leafHash, entry) = try row.decode((Int64, ByteBuffer, ByteBuffer?).self)
        return AuditRecord(
            seq: UInt64(clamping: seq), leafHash: Array(buffer: leafHash), canonicalBytes: entry.map { Array(buffer: $0) })
    }

    static func milliseconds(_ date: Date) -> Int64 {
        let milliseconds = (date.timeIntervalSince1970 * 1000).rounded(.down)
        if let exact = Int64(exactly: milliseconds) { return exact }
        return milliseconds < 0 ? .min : .max
    }

    /// SQLite's `LIMIT` of a negative number means none; PostgreSQL refuses one.
    static func rowLimit(_ limit: Int) -> Int64 {
        limit < 0 ? .max : Int64(limit)
    }
}

extension PostgresStore {
    public func auditVerifierKey(recording candidate: String?) async throws -> String? {
        try await firstStored("audit-verifier", candidate: candidate.map { Array($0.utf8) }).map { String(decoding: $0, as: UTF8.self) }
    }
}
