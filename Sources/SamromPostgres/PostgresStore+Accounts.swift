import Foundation
import PostgresNIO
import SamromCore

extension PostgresStore: AccountStore {
    public func createAccount(username: String, role: AccountRole, passwordHash: String, at: Date) async throws -> Account {
        let row = try await access.rows(
            """
            INSERT INTO account (username, role, password_hash, created_at)
            VALUES (\(username), \(role.rawValue), \(passwordHash), \(at.timeIntervalSince1970)) RETURNING id
            """,
            "creating an account"
        ).first
        guard let id = try row?.decode(Int64.self) else { throw StorageError(.unavailable, "creating an account returned no id") }
        return Account(id: AccountID(rawValue: id), username: username, role: role, passwordHash: passwordHash, createdAt: at)
    }

    public func account(username: String) async throws -> Account? {
        try await access.rows("SELECT \(unescaped: Self.accountColumns) FROM account WHERE username = \(username)", "reading an account")
            .first.map(Self.account)
    }

    public func account(id: AccountID) async throws -> Account? {
        try await access.rows("SELECT \(unescaped: Self.accountColumns) FROM account WHERE id = \(id.rawValue)", "reading an account")
            .first.map(Self.account)
    }

    public func accounts() async throws -> [Account] {
        // Byte order, as SQLite sorts, whatever the database's collation.
        try await access.rows(
            "SELECT \(unescaped: Self.accountColumns) FROM account ORDER BY username COLLATE \"C\"", "reading accounts"
        ).map(Self.account)
    }

    public func accountCount() async throws -> Int {
        try await access.rows("SELECT COUNT(*) FROM account", "counting accounts").first?.decode(Int.self) ?? 0
    }

    public func disableAccount(username: String, at: Date) async throws -> Bool {
        let logger = access.logger
        return try await access.transaction("disabling an account") { connection in
            let id = try await connection.query("SELECT id FROM account WHERE username = \(username) FOR UPDATE", logger: logger)
                .collect().first?.decode(Int64.self)
            guard let id else { return false }
            try await connection.query(
                "UPDATE account SET disabled_at = \(at.timeIntervalSince1970) WHERE id = \(id) AND disabled_at IS NULL", logger: logger)
            try await connection.query("DELETE FROM login_session WHERE account_id = \(id)", logger: logger)
            return true
        }
    }

    public func updatePasswordHash(_ hash: String, for account: AccountID) async throws {
        try await access.execute(
            "UPDATE account SET password_hash = \(hash) WHERE id = \(account.rawValue)", "updating a password hash")
    }

    static let accountColumns = "id, username, role, password_hash, created_at, disabled_at"

    static func account(_ row: PostgresRow) throws -> Account {
        let (id, username, role, passwordHash, createdAt, disabledAt) = try row.decode(
            (Int64, String, String, String, Double, Double?).self)
        guard let role = AccountRole(rawValue: role) else {
            throw StorageError(.corrupt, "account \(id) has an unknown role")
        }
        return Account(
            id: AccountID(rawValue: id), username: username, role: role, passwordHash: passwordHash,
            createdAt: Date(timeIntervalSince1970: createdAt), disabledAt: disabledAt.map(Date.init(timeIntervalSince1970:)))
    }
}
