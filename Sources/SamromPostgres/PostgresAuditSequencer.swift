import Foundation
import Logging
import PostgresNIO
import SamromCore

/// The audit log's sequencer on PostgreSQL (issue 14, 4): appends that
/// arrive while a batch is being committed wait for the next one, and each
/// batch is one transaction that locks the log's head (`audit_head`, FOR
/// UPDATE), takes the next sequence numbers, inserts the entries and moves
/// the head. The lock is held until the commit, so the batches of every
/// instance on the database follow one another: one contiguous log,
/// committed in order, with one fsync per batch rather than per entry.
actor PostgresAuditSequencer {
    private struct Job: Sendable {
        let event: AuditEvent
        let continuation: CheckedContinuation<AuditRecord, any Error>
    }

    private let access: PostgresAccess
    private var pending: [Job] = []
    private var writing = false
    /// Bounds one transaction (8 parameters an entry, of PostgreSQL's 65,535).
    private let maxBatch = 512

    init(access: PostgresAccess) {
        self.access = access
    }

    /// Appends `event` in the next batch; returns once that batch is committed.
    func append(_ event: AuditEvent) async throws -> AuditRecord {
        try await withCheckedThrowingContinuation { continuation in
            pending.append(Job(event: event, continuation: continuation))
            if !writing {
                writing = true
                Task { await self.drain() }
            }
        }
    }

    private func drain() async {
        while !pending.isEmpty {
            let batch = Array(pending.prefix(maxBatch))
            pending.removeFirst(batch.count)
            await commit(batch)
        }
        writing = false
    }

    private func commit(_ batch: [Job]) async {
        let logger = access.logger
        do {
            let records = try await access.client.withConnection { connection in
                try await PostgresAccess.transaction(on: connection, logger: logger) { connection in
                    try await Self.insert(batch.map(\.event), on: connection, logger: logger)
                }
            }
            for (job, record) in zip(batch, records) { job.continuation.resume(returning: record) }
        } catch let error where batch.count > 1 && PostgresAccess.isRefusedData(error) {
            // One entry the server refused (a text it cannot store) must
            // not fail the others: each again, alone. Only for a refusal,
            // which changed nothing; a lost connection may have committed.
            for job in batch { await commit([job]) }
        } catch {
            let failure = PostgresAccess.storageError(error, "appending to the audit log")
            for job in batch { job.continuation.resume(throwing: failure) }
        }
    }

    /// Appends `events` in order inside the caller's transaction, under the
    /// lock on the log's head. Also the erasure's way to declare itself.
    static func insert(_ events: [AuditEvent], on connection: PostgresConnection, logger: Logger) async throws -> [AuditRecord] {
        guard !events.isEmpty else { return [] }
        let head = try await connection.query("SELECT next_seq FROM audit_head FOR UPDATE", logger: logger).collect()
        guard let first = try head.first?.decode(Int64.self) else {
            throw StorageError(.corrupt, "the audit log has no head row")
        }
        var records: [AuditRecord] = []
        records.reserveCapacity(events.count)
        var sql = "WITH inserted AS (INSERT INTO audit_entry (seq, leaf_hash, entry, at_ms, actor_id, action, consultation, outcome) VALUES "
        var binds = PostgresBindings(capacity: events.count * 8 + 1)
        for (offset, event) in events.enumerated() {
            let seq = first + Int64(offset)
            let entry = AuditEntry(seq: UInt64(clamping: seq), event: event)
            let bytes = entry.canonicalBytes()
            let leafHash = MerkleTree.leafHash(bytes)
            records.append(AuditRecord(seq: UInt64(clamping: seq), leafHash: leafHash, canonicalBytes: bytes))
            let base = offset * 8
            sql += offset == 0 ? "(" : ", ("
            sql += (1...8).map { "$\(base + $0)" }.joined(separator: ", ") + ")"
            binds.append(seq)
            binds.append(ByteBuffer(bytes: leafHash))
            binds.append(ByteBuffer(bytes: bytes))
            binds.append(PostgresStore.milliseconds(event.at))
            binds.append(event.actor.id)
            binds.append(event.action.rawValue)
            binds.append(event.consultation?.rawValue)
            binds.append(event.outcome.rawValue)
        }
        sql += " RETURNING 1) UPDATE audit_head SET next_seq = $\(events.count * 8 + 1)"
        binds.append(first + Int64(events.count))
        try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
        return records
    }
}
