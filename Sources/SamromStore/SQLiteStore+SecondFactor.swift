import Foundation
import GRDB
import SamromCore

/// TOTP enrolments, recovery codes and pending logins. Each write is one
/// exclusive SQLite transaction, so "only once" holds across processes.
extension SQLiteStore: SecondFactorStore {
    public func secondFactorKeyID(recording candidate: String?) async throws -> String? {
        try await firstStored("second-factor-key-id", candidate: candidate.map { Array($0.utf8) })
            .map { String(decoding: $0, as: UTF8.self) }
    }

    public func totpEnrolment(of account: AccountID) async throws -> TOTPEnrolment? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM totpEnrolment WHERE accountId = ?", arguments: [account.rawValue]).map { row in
                TOTPEnrolment(
                    account: account,
                    sealedSecret: SealedSecret(nonce: Array(row["nonce"] as Data), ciphertext: Array(row["sealedSecret"] as Data)),
                    startedAt: Date(timeIntervalSince1970: row["startedAt"]),
                    confirmedAt: (row["confirmedAt"] as Double?).map(Date.init(timeIntervalSince1970:)),
                    lastStep: row["lastStep"])
            }
        }
    }

    public func beginTOTPEnrolment(_ account: AccountID, sealedSecret: SealedSecret, at: Date) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO totpEnrolment (accountId, sealedSecret, nonce, startedAt, confirmedAt, lastStep)
                    VALUES (?, ?, ?, ?, NULL, 0)
                    ON CONFLICT (accountId) DO UPDATE SET
                        sealedSecret = excluded.sealedSecret, nonce = excluded.nonce, startedAt = excluded.startedAt, lastStep = 0
                    WHERE totpEnrolment.confirmedAt IS NULL
                    """,
                arguments: [account.rawValue, Data(sealedSecret.ciphertext), Data(sealedSecret.nonce), at.timeIntervalSince1970])
            return db.changesCount == 1
        }
    }

    public func confirmTOTPEnrolment(
        _ account: AccountID, sealedSecret: SealedSecret, step: Int64, recoveryCodes: [TokenHash], at: Date
    ) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: "UPDATE totpEnrolment SET confirmedAt = ?, lastStep = ? WHERE accountId = ? AND confirmedAt IS NULL AND nonce = ?",
                arguments: [at.timeIntervalSince1970, step, account.rawValue, Data(sealedSecret.nonce)])
            guard db.changesCount == 1 else { return false }
            try db.execute(sql: "DELETE FROM recoveryCode WHERE accountId = ?", arguments: [account.rawValue])
            for hash in recoveryCodes {
                try db.execute(
                    sql: "INSERT INTO recoveryCode (accountId, hash) VALUES (?, ?)", arguments: [account.rawValue, Data(hash.bytes)])
            }
            return true
        }
    }

    public func acceptTOTPStep(_ step: Int64, for account: AccountID) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: "UPDATE totpEnrolment SET lastStep = ? WHERE accountId = ? AND confirmedAt IS NOT NULL AND lastStep < ?",
                arguments: [step, account.rawValue, step])
            return db.changesCount == 1
        }
    }

    public func useRecoveryCode(_ hash: TokenHash, for account: AccountID, at: Date) async throws -> RecoveryCodeUse {
        try await write { db in
            try db.execute(
                sql: "UPDATE recoveryCode SET usedAt = ? WHERE accountId = ? AND hash = ? AND usedAt IS NULL",
                arguments: [at.timeIntervalSince1970, account.rawValue, Data(hash.bytes)])
            if db.changesCount == 1 {
                let left = try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM recoveryCode WHERE accountId = ? AND usedAt IS NULL", arguments: [account.rawValue]) ?? 0
                return .used(remaining: left)
            }
            let exists = try Bool.fetchOne(
                db, sql: "SELECT 1 FROM recoveryCode WHERE accountId = ? AND hash = ?", arguments: [account.rawValue, Data(hash.bytes)])
            return exists == true ? .alreadyUsed : .unknown
        }
    }

    public func removeSecondFactor(of account: AccountID) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM totpEnrolment WHERE accountId = ?", arguments: [account.rawValue])
            let removed = db.changesCount > 0
            try db.execute(sql: "DELETE FROM recoveryCode WHERE accountId = ?", arguments: [account.rawValue])
            try db.execute(sql: "DELETE FROM pendingLogin WHERE accountId = ?", arguments: [account.rawValue])
            try db.execute(sql: "DELETE FROM loginSession WHERE accountId = ?", arguments: [account.rawValue])
            return removed
        }
    }

    public func insertPendingLogin(_ login: PendingLogin) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO pendingLogin (tokenHash, accountId, purpose, createdAt, expiresAt, attemptsLeft)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    Data(login.tokenHash.bytes), login.account.rawValue, login.purpose.rawValue,
                    login.createdAt.timeIntervalSince1970, login.expiresAt.timeIntervalSince1970, login.attemptsLeft,
                ])
        }
    }

    public func pendingLogin(tokenHash: TokenHash) async throws -> PendingLogin? {
        try await read { db in try Self.pendingLogin(tokenHash, db) }
    }

    public func takePendingLoginAttempt(tokenHash: TokenHash, now: Date) async throws -> PendingLoginAttempt {
        try await write { db in
            try db.execute(
                sql: "UPDATE pendingLogin SET attemptsLeft = attemptsLeft - 1 WHERE tokenHash = ? AND attemptsLeft > 0 AND expiresAt > ?",
                arguments: [Data(tokenHash.bytes), now.timeIntervalSince1970])
            let taken = db.changesCount == 1
            guard let login = try Self.pendingLogin(tokenHash, db) else { return .unknown }
            return taken ? .taken(login) : .spent(login)
        }
    }

    public func deletePendingLogin(tokenHash: TokenHash) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM pendingLogin WHERE tokenHash = ?", arguments: [Data(tokenHash.bytes)])
            return db.changesCount == 1
        }
    }

    public func deleteExpiredPendingLogins(now: Date) async throws -> Int {
        try await write { db in
            try db.execute(sql: "DELETE FROM pendingLogin WHERE expiresAt <= ?", arguments: [now.timeIntervalSince1970])
            return db.changesCount
        }
    }

    static func pendingLogin(_ tokenHash: TokenHash, _ db: Database) throws -> PendingLogin? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM pendingLogin WHERE tokenHash = ?", arguments: [Data(tokenHash.bytes)])
        else { return nil }
        let stored = TokenHash(bytes: Array(row["tokenHash"] as Data))
        guard stored.matches(tokenHash) else { return nil }
        guard let purpose = PendingLogin.Purpose(rawValue: row["purpose"]) else {
            throw StorageError(.corrupt, "a pending login has an unknown purpose")
        }
        return PendingLogin(
            tokenHash: stored, account: AccountID(rawValue: row["accountId"]), purpose: purpose,
            createdAt: Date(timeIntervalSince1970: row["createdAt"]), expiresAt: Date(timeIntervalSince1970: row["expiresAt"]),
            attemptsLeft: row["attemptsLeft"])
    }
}
