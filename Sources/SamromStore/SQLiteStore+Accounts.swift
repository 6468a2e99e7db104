import Foundation
import GRDB
import SamromCore

extension SQLiteStore: AccountStore {
    public func createAccount(username: String, role: AccountRole, passwordHash: String, at: Date) async throws -> Account {
        try await write { db in
            try db.execute(
                sql: "INSERT INTO account (username, role, passwordHash, createdAt) VALUES (?, ?, ?, ?)",
                arguments: [username, role.rawValue, passwordHash, at.timeIntervalSince1970])
            return Account(
                id: AccountID(rawValue: db.lastInsertedRowID), username: username, role: role,
                passwordHash: passwordHash, createdAt: at)
        }
    }

    public func account(username: String) async throws -> Account? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM account WHERE username = ?", arguments: [username]).map(Self.account)
        }
    }

    public func account(id: AccountID) async throws -> Account? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM account WHERE id = ?", arguments: [id.rawValue]).map(Self.account)
        }
    }

    public func accounts() async throws -> [Account] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM account ORDER BY username").map(Self.account)
        }
    }

    public func accountCount() async throws -> Int {
        try await read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM account") ?? 0 }
    }

    public func disableAccount(username: String, at: Date) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: "UPDATE account SET disabledAt = ? WHERE username = ? AND disabledAt IS NULL",
                arguments: [at.timeIntervalSince1970, username])
            let changed = db.changesCount > 0
            try db.execute(
                sql: "DELETE FROM loginSession WHERE accountId = (SELECT id FROM account WHERE username = ?)",
                arguments: [username])
            if changed { return true }
            return try Bool.fetchOne(db, sql: "SELECT 1 FROM account WHERE username = ?", arguments: [username]) ?? false
        }
    }

    public func updatePasswordHash(_ hash: String, for account: AccountID) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE account SET passwordHash = ? WHERE id = ?", arguments: [hash, account.rawValue])
        }
    }

    static func account(_ row: Row) throws -> Account {
        guard let role = AccountRole(rawValue: row["role"]) else {
            throw StorageError(.corrupt, "account \(row["id"] as Int64) has an unknown role")
        }
        return Account(
            id: AccountID(rawValue: row["id"]), username: row["username"], role: role,
            passwordHash: row["passwordHash"], createdAt: Date(timeIntervalSince1970: row["createdAt"]),
            disabledAt: (row["disabledAt"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }
}
