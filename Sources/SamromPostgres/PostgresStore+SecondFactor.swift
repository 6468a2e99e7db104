import Foundation
import PostgresNIO
import SamromCore

/// TOTP enrolments, recovery codes and pending logins, shared by every
/// instance. "Only once" is a conditional UPDATE: PostgreSQL re-checks its
/// WHERE after waiting for a concurrent writer of the row, so of two
/// instances given one code at once, one changes the row and one does not.
extension PostgresStore: SecondFactorStore {
    public func secondFactorKeyID(recording candidate: String?) async throws -> String? {
        try await firstStored("second-factor-key-id", candidate: candidate.map { Array($0.utf8) })
            .map { String(decoding: $0, as: UTF8.self) }
    }

    public func totpEnrolment(of account: AccountID) async throws -> TOTPEnrolment? {
        guard let row = try await access.rows(
            """
            SELECT sealed_secret, nonce, started_at, confirmed_at, last_step FROM totp_enrolment
            WHERE account_id = \(account.rawValue)
            """,
            "reading a TOTP enrolment"
        ).first else { return nil }
        let (sealed, nonce, startedAt, confirmedAt, lastStep) = try row.decode((ByteBuffer, ByteBuffer, Double, Double?, Int64).self)
        return TOTPEnrolment(
            account: account, sealedSecret: SealedSecret(nonce: Array(buffer: nonce), ciphertext: Array(buffer: sealed)),
            startedAt: Date(timeIntervalSince1970: startedAt), confirmedAt: confirmedAt.map(Date.init(timeIntervalSince1970:)),
            lastStep: lastStep)
    }

    public func beginTOTPEnrolment(_ account: AccountID, sealedSecret: SealedSecret, at: Date) async throws -> Bool {
        try await !access.rows(
            """
            INSERT INTO totp_enrolment (account_id, sealed_secret, nonce, started_at, confirmed_at, last_step)
            VALUES (\(account.rawValue), \(ByteBuffer(bytes: sealedSecret.ciphertext)), \(ByteBuffer(bytes: sealedSecret.nonce)),
                \(at.timeIntervalSince1970), NULL, 0)
            ON CONFLICT (account_id) DO UPDATE SET
                sealed_secret = EXCLUDED.sealed_secret, nonce = EXCLUDED.nonce, started_at = EXCLUDED.started_at, last_step = 0
            WHERE totp_enrolment.confirmed_at IS NULL
            RETURNING 1
            """,
            "starting a TOTP enrolment"
        ).isEmpty
    }

    public func confirmTOTPEnrolment(
        _ account: AccountID, sealedSecret: SealedSecret, step: Int64, recoveryCodes: [TokenHash], at: Date
    ) async throws -> Bool {
        let logger = access.logger
        return try await access.transaction("confirming a TOTP enrolment") { connection in
            let confirmed = try await connection.query(
                """
                UPDATE totp_enrolment SET confirmed_at = \(at.timeIntervalSince1970), last_step = \(step)
                WHERE account_id = \(account.rawValue) AND confirmed_at IS NULL AND nonce = \(ByteBuffer(bytes: sealedSecret.nonce))
                RETURNING 1
                """,
                logger: logger
            ).collect()
            guard !confirmed.isEmpty else { return false }
            try await connection.query("DELETE FROM recovery_code WHERE account_id = \(account.rawValue)", logger: logger)
            for hash in recoveryCodes {
                try await connection.query(
                    "INSERT INTO recovery_code (account_id, hash) VALUES (\(account.rawValue), \(ByteBuffer(bytes: hash.bytes)))",
                    logger: logger)
            }
            return true
        }
    }

    public func acceptTOTPStep(_ step: Int64, for account: AccountID) async throws -> Bool {
        try await !access.rows(
            """
            UPDATE totp_enrolment SET last_step = \(step)
            WHERE account_id = \(account.rawValue) AND confirmed_at IS NOT NULL AND last_step < \(step)
            RETURNING 1
            """,
            "accepting a TOTP step"
        ).isEmpty
    }

    public func useRecoveryCode(_ hash: TokenHash, for account: AccountID, at: Date) async throws -> RecoveryCodeUse {
        let used = try await access.rows(
            """
            UPDATE recovery_code SET used_at = \(at.timeIntervalSince1970)
            WHERE account_id = \(account.rawValue) AND hash = \(ByteBuffer(bytes: hash.bytes)) AND used_at IS NULL
            RETURNING 1
            """,
            "using a recovery code")
        if !used.isEmpty {
            let left = try await access.rows(
                "SELECT COUNT(*) FROM recovery_code WHERE account_id = \(account.rawValue) AND used_at IS NULL", "counting recovery codes"
            ).first?.decode(Int.self) ?? 0
            return .used(remaining: left)
        }
        let exists = try await access.rows(
            "SELECT 1 FROM recovery_code WHERE account_id = \(account.rawValue) AND hash = \(ByteBuffer(bytes: hash.bytes))",
            "reading a recovery code")
        return exists.isEmpty ? .unknown : .alreadyUsed
    }

    public func removeSecondFactor(of account: AccountID) async throws -> Bool {
        let logger = access.logger
        return try await access.transaction("removing a second factor") { connection in
            let removed = try await connection.query(
                "DELETE FROM totp_enrolment WHERE account_id = \(account.rawValue) RETURNING 1", logger: logger
            ).collect()
            try await connection.query("DELETE FROM recovery_code WHERE account_id = \(account.rawValue)", logger: logger)
            try await connection.query("DELETE FROM pending_login WHERE account_id = \(account.rawValue)", logger: logger)
            try await connection.query("DELETE FROM login_session WHERE account_id = \(account.rawValue)", logger: logger)
            return !removed.isEmpty
        }
    }

    public func insertPendingLogin(_ login: PendingLogin) async throws {
        try await access.execute(
            """
            INSERT INTO pending_login (token_hash, account_id, purpose, created_at, expires_at, attempts_left)
            VALUES (\(ByteBuffer(bytes: login.tokenHash.bytes)), \(login.account.rawValue), \(login.purpose.rawValue),
                \(login.createdAt.timeIntervalSince1970), \(login.expiresAt.timeIntervalSince1970), \(login.attemptsLeft))
            """,
            "storing a pending login")
    }

    public func pendingLogin(tokenHash: TokenHash) async throws -> PendingLogin? {
        try await access.rows(
            "SELECT \(unescaped: Self.pendingColumns) FROM pending_login WHERE token_hash = \(ByteBuffer(bytes: tokenHash.bytes))",
            "reading a pending login"
        ).first.flatMap { try Self.pendingLogin($0, tokenHash) }
    }

    public func takePendingLoginAttempt(tokenHash: TokenHash, now: Date) async throws -> PendingLoginAttempt {
        let taken = try await access.rows(
            """
            UPDATE pending_login SET attempts_left = attempts_left - 1
            WHERE token_hash = \(ByteBuffer(bytes: tokenHash.bytes)) AND attempts_left > 0 AND expires_at > \(now.timeIntervalSince1970)
            RETURNING \(unescaped: Self.pendingColumns)
            """,
            "taking a try of a pending login")
        if let row = taken.first, let login = try Self.pendingLogin(row, tokenHash) { return .taken(login) }
        guard let login = try await pendingLogin(tokenHash: tokenHash) else { return .unknown }
        return .spent(login)
    }

    public func deletePendingLogin(tokenHash: TokenHash) async throws -> Bool {
        try await !access.rows(
            "DELETE FROM pending_login WHERE token_hash = \(ByteBuffer(bytes: tokenHash.bytes)) RETURNING 1", "deleting a pending login"
        ).isEmpty
    }

    public func deleteExpiredPendingLogins(now: Date) async throws -> Int {
        try await access.rows(
            """
            WITH deleted AS (DELETE FROM pending_login WHERE expires_at <= \(now.timeIntervalSince1970) RETURNING 1)
            SELECT COUNT(*) FROM deleted
            """,
            "deleting expired pending logins"
        ).first?.decode(Int.self) ?? 0
    }

    static let pendingColumns = "token_hash, account_id, purpose, created_at, expires_at, attempts_left"

    static func pendingLogin(_ row: PostgresRow, _ tokenHash: TokenHash) throws -> PendingLogin? {
        let (hash, account, purpose, createdAt, expiresAt, attemptsLeft) = try row.decode(
            (ByteBuffer, Int64, String, Double, Double, Int).self)
        let stored = TokenHash(bytes: Array(buffer: hash))
        guard stored.matches(tokenHash) else { return nil }
        guard let purpose = PendingLogin.Purpose(rawValue: purpose) else {
            throw StorageError(.corrupt, "a pending login has an unknown purpose")
        }
        return PendingLogin(
            tokenHash: stored, account: AccountID(rawValue: account), purpose: purpose,
            createdAt: Date(timeIntervalSince1970: createdAt), expiresAt: Date(timeIntervalSince1970: expiresAt), attemptsLeft: attemptsLeft)
    }
}
