import Foundation
import PostgresNIO
import SamromCore

extension PostgresStore: ChatStore {
    public func appendChat(
        _ envelope: ChatEnvelope, consultation: ConsultationID, sender: Member, at: Date
    ) async throws -> (copies: [StoredChat], duplicate: Bool) {
        let logger = access.logger
        return try await access.transaction("storing a chat message") { connection in
            // The consultation's row, locked until the commit: its messages
            // are numbered one at a time, on any instance, and a resend that
            // arrives beside the first finds it stored. (Locked first, then
            // read: the reads see what the lock's last holder committed.)
            try await connection.query(
                "SELECT 1 FROM consultation WHERE id = \(consultation.rawValue) FOR NO KEY UPDATE", logger: logger)
            let row = try await connection.query(
                """
                SELECT
                    (SELECT seq FROM chat_message WHERE consultation_id = \(consultation.rawValue)
                        AND sender_key_id = \(envelope.senderKeyId) AND client_msg_id = \(envelope.clientMsgId)),
                    (SELECT COALESCE(MAX(seq) + 1, 0) FROM chat_message WHERE consultation_id = \(consultation.rawValue))
                """,
                logger: logger
            ).collect().first
            let (earlier, next) = try row?.decode((Int64?, Int64).self) ?? (nil, Int64(0))
            if let earlier {
                let copies = try await connection.query(
                    """
                    SELECT \(unescaped: Self.chatColumns) FROM chat_copy
                    WHERE consultation_id = \(consultation.rawValue) AND seq = \(earlier) ORDER BY copy_index
                    """,
                    logger: logger
                ).collect().map(Self.storedChat)
                return (copies, true)
            }
            var sql = """
                WITH message AS (
                    INSERT INTO chat_message (consultation_id, seq, sender_key_id, client_msg_id) VALUES ($1, $2, $3, $4)
                    RETURNING consultation_id, seq)
                INSERT INTO chat_copy
                    (consultation_id, seq, copy_index, recipient_key_id, client_msg_id, sender_participant, sender_role,
                     sender_key_id, nonce, ciphertext, stored_at)
                SELECT message.consultation_id, message.seq, c.copy_index, c.recipient_key_id, $4, $5, $6, $3,
                    c.nonce, c.ciphertext, $7
                FROM message, (VALUES 
                """
            var binds = PostgresBindings(capacity: 7 + envelope.copies.count * 4)
            binds.append(consultation.rawValue)
            binds.append(next)
            binds.append(envelope.senderKeyId)
            binds.append(envelope.clientMsgId)
            binds.append(sender.participant.rawValue)
            binds.append(sender.role.rawValue)
            binds.append(at.timeIntervalSince1970)
            var stored: [StoredChat] = []
            for (index, copy) in envelope.copies.enumerated() {
                let base = binds.count
                sql += index == 0 ? "" : ", "
                sql += "($\(base + 1)::integer, $\(base + 2)::text, $\(base + 3)::text, $\(base + 4)::text)"
                binds.append(index)
                binds.append(copy.recipientKeyId)
                binds.append(copy.nonce)
                binds.append(copy.ciphertext)
                stored.append(StoredChat(
                    from: sender.participant, senderRole: sender.role, clientMsgId: envelope.clientMsgId,
                    senderKeyId: envelope.senderKeyId, copy: copy, seq: UInt64(clamping: next), storedAt: at))
            }
            sql += ") AS c (copy_index, recipient_key_id, nonce, ciphertext)"
            try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
            return (stored, false)
        }
    }

    public func chatHistory(consultation: ConsultationID, recipientKeyId: String, afterSeq: UInt64?, limit: Int) async throws -> [StoredChat] {
        try await access.rows(
            """
            SELECT \(unescaped: Self.chatColumns) FROM chat_copy
            WHERE consultation_id = \(consultation.rawValue) AND recipient_key_id = \(recipientKeyId)
                AND seq > \(afterSeq.map { Int64(clamping: $0) } ?? -1)
            ORDER BY seq LIMIT \(Self.rowLimit(limit))
            """,
            "reading chat history"
        ).map(Self.storedChat)
    }

    public func chatTotals(consultation: ConsultationID) async throws -> (messages: Int, bytes: Int) {
        let row = try await access.rows(
            """
            SELECT COUNT(DISTINCT seq), COALESCE(SUM(length(ciphertext) + length(nonce)), 0)::bigint
            FROM chat_copy WHERE consultation_id = \(consultation.rawValue)
            """,
            "counting chat messages"
        ).first
        return try row?.decode((Int, Int).self) ?? (0, 0)
    }

    /// Returns how many copies it deleted, as SQLite's does; their messages go with them.
    public func purgeChat(closedBefore date: Date) async throws -> Int {
        let logger = access.logger
        let cutoff = date.timeIntervalSince1970
        return try await access.transaction("purging chat") { connection in
            let closed = "SELECT id FROM consultation WHERE (ended_at IS NOT NULL AND ended_at < $1) OR expires_at < $1"
            var binds = PostgresBindings()
            binds.append(cutoff)
            let copies = try await connection.query(
                PostgresQuery(
                    unsafeSQL: "WITH deleted AS (DELETE FROM chat_copy WHERE consultation_id IN (\(closed)) RETURNING 1) SELECT COUNT(*) FROM deleted",
                    binds: binds),
                logger: logger
            ).collect().first?.decode(Int.self) ?? 0
            try await connection.query(
                PostgresQuery(unsafeSQL: "DELETE FROM chat_message WHERE consultation_id IN (\(closed))", binds: binds), logger: logger)
            return copies
        }
    }

    static let chatColumns = "seq, recipient_key_id, client_msg_id, sender_participant, sender_role, sender_key_id, nonce, ciphertext, stored_at"

    static func storedChat(_ row: PostgresRow) throws -> StoredChat {
        let (seq, recipientKeyId, clientMsgId, participant, role, senderKeyId, nonce, ciphertext, storedAt) = try row.decode(
            (Int64, String, String, String, String, String, String, String, Double).self)
        return StoredChat(
            from: ParticipantID(rawValue: participant), senderRole: ParticipantRole(rawValue: role) ?? .deltaker,
            clientMsgId: clientMsgId, senderKeyId: senderKeyId,
            copy: ChatCopy(recipientKeyId: recipientKeyId, nonce: nonce, ciphertext: ciphertext),
            seq: UInt64(clamping: seq), storedAt: Date(timeIntervalSince1970: storedAt))
    }
}
