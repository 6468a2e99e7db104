import Foundation
import GRDB
import SamromCore

extension SQLiteStore: ChatStore {
    public func appendChat(
        _ envelope: ChatEnvelope, consultation: ConsultationID, sender: Member, at: Date
    ) async throws -> (copies: [StoredChat], duplicate: Bool) {
        try await groupedWrite { db in
            // Cached statements: each is parsed once, not per message.
            let earlier = try Row.fetchAll(
                db.cachedStatement(sql: "SELECT * FROM chatCopy WHERE consultationId = ? AND senderKeyId = ? AND clientMsgId = ?"),
                arguments: [consultation.rawValue, envelope.senderKeyId, envelope.clientMsgId])
            if !earlier.isEmpty { return (earlier.map(Self.storedChat), true) }
            let seq = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT COALESCE(MAX(seq) + 1, 0) FROM chatCopy WHERE consultationId = ?"),
                arguments: [consultation.rawValue]) ?? 0
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO chatCopy
                        (consultationId, seq, recipientKeyId, clientMsgId, senderParticipant, senderRole, senderKeyId, nonce, ciphertext, storedAt)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            var stored: [StoredChat] = []
            for copy in envelope.copies {
                try insert.execute(arguments: [
                    consultation.rawValue, seq, copy.recipientKeyId, envelope.clientMsgId, sender.participant.rawValue,
                    sender.role.rawValue, envelope.senderKeyId, copy.nonce, copy.ciphertext, at.timeIntervalSince1970,
                ])
                stored.append(StoredChat(
                    from: sender.participant, senderRole: sender.role, clientMsgId: envelope.clientMsgId,
                    senderKeyId: envelope.senderKeyId, copy: copy, seq: UInt64(seq), storedAt: at))
            }
            return (stored, false)
        }
    }

    public func chatHistory(consultation: ConsultationID, recipientKeyId: String, afterSeq: UInt64?, limit: Int) async throws -> [StoredChat] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM chatCopy WHERE consultationId = ? AND recipientKeyId = ? AND seq > ? ORDER BY seq LIMIT ?",
                arguments: [consultation.rawValue, recipientKeyId, afterSeq.map { Int64(clamping: $0) } ?? -1, limit]
            ).map(Self.storedChat)
        }
    }

    public func chatTotals(consultation: ConsultationID) async throws -> (messages: Int, bytes: Int) {
        try await read { db in
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT COUNT(DISTINCT seq), COALESCE(SUM(length(ciphertext) + length(nonce)), 0)
                    FROM chatCopy WHERE consultationId = ?
                    """,
                arguments: [consultation.rawValue])
            return (row?[0] ?? 0, row?[1] ?? 0)
        }
    }

    public func purgeChat(closedBefore date: Date) async throws -> Int {
        try await write { db in
            try db.execute(
                sql: """
                    DELETE FROM chatCopy WHERE consultationId IN (
                        SELECT id FROM consultation WHERE (endedAt IS NOT NULL AND endedAt < ?1) OR expiresAt < ?1)
                    """,
                arguments: [date.timeIntervalSince1970])
            return db.changesCount
        }
    }

    static func storedChat(_ row: Row) -> StoredChat {
        let seq: Int64 = row["seq"]
        let role: String = row["senderRole"]
        let storedAt: Double = row["storedAt"]
        return StoredChat(
            from: ParticipantID(rawValue: row["senderParticipant"]), senderRole: ParticipantRole(rawValue: role) ?? .deltaker,
            clientMsgId: row["clientMsgId"], senderKeyId: row["senderKeyId"],
            copy: ChatCopy(recipientKeyId: row["recipientKeyId"], nonce: row["nonce"], ciphertext: row["ciphertext"]),
            seq: UInt64(seq), storedAt: Date(timeIntervalSince1970: storedAt))
    }
}
