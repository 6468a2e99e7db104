import GRDB

/// The database schema, as ordered migrations. Never edit a shipped migration;
/// add a new one.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: accounts, sessions, consultations, audit") { db in
            try db.create(table: "account") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("username", .text).notNull().unique()
                t.column("role", .text).notNull()
                t.column("passwordHash", .text).notNull()
                t.column("createdAt", .double).notNull()
                t.column("disabledAt", .double)
            }
            try db.create(table: "loginSession") { t in
                t.primaryKey("tokenHash", .blob)
                t.column("accountId", .integer).notNull().indexed()
                    .references("account", onDelete: .cascade)
                t.column("createdAt", .double).notNull()
                t.column("lastSeenAt", .double).notNull()
                t.column("expiresAt", .double).notNull()
            }
            try db.create(table: "consultation") { t in
                t.primaryKey("id", .text)
                t.column("ownerId", .integer).notNull().indexed().references("account")
                t.column("title", .text)
                t.column("createdAt", .double).notNull()
                t.column("expiresAt", .double).notNull()
                t.column("endedAt", .double)
                t.column("linkHash", .blob).notNull().unique()
                t.column("linkIssuedAt", .double).notNull()
            }
            // The audit trail: one row per entry, holding its canonical bytes.
            try db.create(table: "auditEntry") { t in
                t.primaryKey("seq", .integer)
                t.column("entry", .blob).notNull()
            }
        }
        return migrator
    }
}
