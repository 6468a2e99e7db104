import Foundation
import GRDB
import SamromCore

extension SQLiteStore: ChatStore {
    public func storeChatKey(_ publicKey: [UInt8], consultation: ConsultationID, role: ParticipantRole, at: Date) async throws -> [UInt8]? {
        try await write { db in
            let previous = try Data.fetchOne(
                db, sql: "SELECT publicKey FROM chatKey WHERE consultationId = ? AND role = ?",
                arguments: [consultation.rawValue, role.rawValue])
            try db.execute(
                sql: """
                    INSERT INTO chatKey (consultationId, role, publicKey, updatedAt) VALUES (?, ?, ?, ?)
                    ON CONFLICT (consultationId, role) DO UPDATE SET publicKey = excluded.publicKey, updatedAt = excluded.updatedAt
                    """,
                arguments: [consultation.rawValue, role.rawValue, Data(publicKey), at.timeIntervalSince1970])
            guard let previous, Array(previous) != publicKey else { return nil }
            return Array(previous)
        }
    }

    public func chatKey(consultation: ConsultationID, role: ParticipantRole) async throws -> [UInt8]? {
        try await read { db in
            try Data.fetchOne(
                db, sql: "SELECT publicKey FROM chatKey WHERE consultationId = ? AND role = ?",
                arguments: [consultation.rawValue, role.rawValue]
            ).map(Array.init)
        }
    }

    public func appendChat(
        _ envelope: ChatEnvelope, consultation: ConsultationID, senderRole: ParticipantRole, at: Date
    ) async throws -> (stored: StoredChat, duplicate: Bool) {
        try await groupedWrite { db in
            // Cached statements: each is parsed once, not per message.
            if let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM chatMessage WHERE consultationId = ? AND senderRole = ? AND clientMsgId = ?"),
                arguments: [consultation.rawValue, senderRole.rawValue, envelope.clientMsgId])
            {
                return (Self.storedChat(row), true)
            }
            let seq = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT COALESCE(MAX(seq) + 1, 0) FROM chatMessage WHERE consultationId = ?"),
                arguments: [consultation.rawValue]) ?? 0
            try db.cachedStatement(
                sql: """
                    INSERT INTO chatMessage
                        (consultationId, seq, clientMsgId, senderRole, senderKeyId, recipientKeyId, nonce, ciphertext, storedAt)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(
                arguments: [
                    consultation.rawValue, seq, envelope.clientMsgId, senderRole.rawValue, envelope.senderKeyId,
                    envelope.recipientKeyId, envelope.nonce, envelope.ciphertext, at.timeIntervalSince1970,
                ])
            return (StoredChat(envelope: envelope, seq: UInt64(seq), senderRole: senderRole, storedAt: at), false)
        }
    }

    public func chatHistory(consultation: ConsultationID, afterSeq: UInt64?, limit: Int) async throws -> [StoredChat] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM chatMessage WHERE consultationId = ? AND seq > ? ORDER BY seq LIMIT ?",
                arguments: [consultation.rawValue, afterSeq.map { Int64($0) } ?? -1, limit]
            ).map(Self.storedChat)
        }
    }

    public func purgeChat(closedBefore date: Date) async throws -> (messages: Int, keys: Int) {
        try await write { db in
            let closed = """
                SELECT id FROM consultation
                WHERE (endedAt IS NOT NULL AND endedAt < ?1) OR expiresAt < ?1
                """
            try db.execute(sql: "DELETE FROM chatMessage WHERE consultationId IN (\(closed))", arguments: [date.timeIntervalSince1970])
            let messages = db.changesCount
            try db.execute(sql: "DELETE FROM chatKey WHERE consultationId IN (\(closed))", arguments: [date.timeIntervalSince1970])
            return (messages, db.changesCount)
        }
    }

    static func storedChat(_ row: Row) -> StoredChat {
        let seq: Int64 = row["seq"]
        let role: String = row["senderRole"]
        let storedAt: Double = row["storedAt"]
        return StoredChat(
            envelope: ChatEnvelope(
                clientMsgId: row["clientMsgId"], senderKeyId: row["senderKeyId"], recipientKeyId: row["recipientKeyId"],
                nonce: row["nonce"], ciphertext: row["ciphertext"]),
            seq: UInt64(seq), senderRole: ParticipantRole(rawValue: role) ?? .deltaker,
            storedAt: Date(timeIntervalSince1970: storedAt))
    }
}
