import Foundation
import PostgresNIO
import SamromCore

/// Links of local accounts to identity-provider claim values (OpenID
/// Connect login), shared by every instance. A link is set in one statement
/// and the table's unique keys decide who has a value: of two instances
/// linking one value to two accounts at once, the second waits for the
/// first to commit and fails with a unique violation, which is our conflict.
extension PostgresStore {
    public func linkIdentity(_ value: String?, to account: AccountID) async throws -> Bool {
        guard let value else {
            return try await access.rows(
                """
                WITH removed AS (DELETE FROM account_identity WHERE account_id = \(account.rawValue))
                SELECT EXISTS (SELECT 1 FROM account WHERE id = \(account.rawValue))
                """,
                "removing an identity link"
            ).first?.decode(Bool.self) ?? false
        }
        // No row from the SELECT (no such account): nothing inserted, false.
        // The account's own row is the arbiter and is updated in place; a
        // value another account has breaks the primary key (SQLSTATE 23505).
        return try await !access.rows(
            """
            INSERT INTO account_identity (value, account_id)
            SELECT \(value), id FROM account WHERE id = \(account.rawValue)
            ON CONFLICT (account_id) DO UPDATE SET value = EXCLUDED.value
            RETURNING 1
            """,
            "linking an identity"
        ).isEmpty
    }

    public func account(identity: String) async throws -> Account? {
        try await access.rows(
            """
            SELECT \(unescaped: Self.accountColumns) FROM account
            WHERE id = (SELECT account_id FROM account_identity WHERE value = \(identity))
            """,
            "reading an account by identity"
        ).first.map(Self.account)
    }

    public func identity(of account: AccountID) async throws -> String? {
        try await access.rows(
            "SELECT value FROM account_identity WHERE account_id = \(account.rawValue)", "reading an identity link"
        ).first?.decode(String.self)
    }
}
