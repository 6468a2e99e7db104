import Foundation
import GRDB
import SamromCore

extension SQLiteStore: SessionStore {
    public func insertSession(_ session: LoginSession) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO loginSession (tokenHash, accountId, createdAt, lastSeenAt, expiresAt)
                    VALUES (?, ?, ?, ?, ?)
                    """,
                arguments: [
                    Data(session.tokenHash.bytes), session.account.rawValue, session.createdAt.timeIntervalSince1970,
                    session.lastSeenAt.timeIntervalSince1970, session.expiresAt.timeIntervalSince1970,
                ])
        }
    }

    public func session(tokenHash: TokenHash) async throws -> LoginSession? {
        try await read { db in
            guard let row = try Row.fetchOne(
                db, sql: "SELECT * FROM loginSession WHERE tokenHash = ?", arguments: [Data(tokenHash.bytes)])
            else { return nil }
            let stored = TokenHash(bytes: Array(row["tokenHash"] as Data))
            // The index found it; confirm in constant time anyway.
            guard stored.matches(tokenHash) else { return nil }
            return LoginSession(
                tokenHash: stored, account: AccountID(rawValue: row["accountId"]),
                createdAt: Date(timeIntervalSince1970: row["createdAt"]),
                lastSeenAt: Date(timeIntervalSince1970: row["lastSeenAt"]),
                expiresAt: Date(timeIntervalSince1970: row["expiresAt"]))
        }
    }

    public func touchSession(tokenHash: TokenHash, at: Date) async throws {
        try await write { db in
            try db.execute(
                sql: "UPDATE loginSession SET lastSeenAt = ? WHERE tokenHash = ?",
                arguments: [at.timeIntervalSince1970, Data(tokenHash.bytes)])
        }
    }

    public func deleteSession(tokenHash: TokenHash) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM loginSession WHERE tokenHash = ?", arguments: [Data(tokenHash.bytes)])
        }
    }

    public func deleteExpiredSessions(now: Date, idleTimeout: TimeInterval) async throws -> Int {
        try await write { db in
            try db.execute(
                sql: "DELETE FROM loginSession WHERE expiresAt <= ? OR lastSeenAt <= ?",
                arguments: [now.timeIntervalSince1970, now.timeIntervalSince1970 - idleTimeout])
            return db.changesCount
        }
    }
}
