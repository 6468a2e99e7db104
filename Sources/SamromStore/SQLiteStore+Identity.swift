import Foundation
import GRDB
import SamromCore

/// Links of local accounts to identity-provider claim values (OpenID
/// Connect login). A link is replaced in one exclusive SQLite transaction,
/// so of two accounts given one value at once, one gets it and the other
/// is refused by the table's primary key.
extension SQLiteStore {
    public func linkIdentity(_ value: String?, to account: AccountID) async throws -> Bool {
        try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM account WHERE id = ?", arguments: [account.rawValue]) == true else {
                return false
            }
            try db.execute(sql: "DELETE FROM accountIdentity WHERE accountId = ?", arguments: [account.rawValue])
            guard let value else { return true }
            do {
                try db.execute(
                    sql: "INSERT INTO accountIdentity (value, accountId) VALUES (?, ?)", arguments: [value, account.rawValue])
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                // Thrown out of the transaction, which rolls the delete back.
                throw StorageError(.conflict, "the identity is linked to another account")
            }
            return true
        }
    }

    public func account(identity: String) async throws -> Account? {
        try await read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT account.* FROM accountIdentity JOIN account ON account.id = accountIdentity.accountId WHERE accountIdentity.value = ?",
                arguments: [identity]
            ).map(Self.account)
        }
    }

    public func identity(of account: AccountID) async throws -> String? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT value FROM accountIdentity WHERE accountId = ?", arguments: [account.rawValue])
        }
    }
}
