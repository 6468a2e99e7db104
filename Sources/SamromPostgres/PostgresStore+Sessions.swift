import Foundation
import PostgresNIO
import SamromCore

extension PostgresStore: SessionStore {
    public func insertSession(_ session: LoginSession) async throws {
        try await access.execute(
            """
            INSERT INTO login_session (token_hash, account_id, created_at, last_seen_at, expires_at)
            VALUES (\(ByteBuffer(bytes: session.tokenHash.bytes)), \(session.account.rawValue), \(session.createdAt.timeIntervalSince1970),
                \(session.lastSeenAt.timeIntervalSince1970), \(session.expiresAt.timeIntervalSince1970))
            """,
            "storing a session")
    }

    public func session(tokenHash: TokenHash) async throws -> LoginSession? {
        guard let row = try await access.rows(
            """
            SELECT token_hash, account_id, created_at, last_seen_at, expires_at FROM login_session
            WHERE token_hash = \(ByteBuffer(bytes: tokenHash.bytes))
            """,
            "reading a session"
        ).first else { return nil }
        let (hash, account, createdAt, lastSeenAt, expiresAt) = try row.decode((ByteBuffer, Int64, Double, Double, Double).self)
        let stored = TokenHash(bytes: Array(buffer: hash))
        // The index found it; confirm in constant time anyway.
        guard stored.matches(tokenHash) else { return nil }
        return LoginSession(
            tokenHash: stored, account: AccountID(rawValue: account), createdAt: Date(timeIntervalSince1970: createdAt),
            lastSeenAt: Date(timeIntervalSince1970: lastSeenAt), expiresAt: Date(timeIntervalSince1970: expiresAt))
    }

    public func touchSession(tokenHash: TokenHash, at: Date) async throws {
        try await access.execute(
            "UPDATE login_session SET last_seen_at = \(at.timeIntervalSince1970) WHERE token_hash = \(ByteBuffer(bytes: tokenHash.bytes))",
            "touching a session")
    }

    public func deleteSession(tokenHash: TokenHash) async throws {
        try await access.execute(
            "DELETE FROM login_session WHERE token_hash = \(ByteBuffer(bytes: tokenHash.bytes))", "deleting a session")
    }

    public func deleteExpiredSessions(now: Date, idleTimeout: TimeInterval) async throws -> Int {
        try await access.rows(
            """
            WITH deleted AS (
                DELETE FROM login_session
                WHERE expires_at <= \(now.timeIntervalSince1970) OR last_seen_at <= \(now.timeIntervalSince1970 - idleTimeout)
                RETURNING 1)
            SELECT COUNT(*) FROM deleted
            """,
            "deleting expired sessions"
        ).first?.decode(Int.self) ?? 0
    }
}
