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
            // The audit trail: one row per leaf of the transparency log. `entry`
            // holds the canonical bytes (NULL once retention erased them);
            // `leafHash` stays forever. The other columns copy the entry's
            // fields for the personvernombud's filters and are erased with it.
            try db.create(table: "auditEntry") { t in
                t.primaryKey("seq", .integer)
                t.column("leafHash", .blob).notNull()
                t.column("entry", .blob)
                t.column("atMs", .integer).indexed()
                t.column("actorId", .text).indexed()
                t.column("action", .text)
                t.column("consultation", .text).indexed()
                t.column("outcome", .text)
            }
            // End-to-end chat: each role's current public key, and the opaque
            // envelopes (never plaintext), numbered per consultation.
            try db.create(table: "chatKey") { t in
                t.column("consultationId", .text).notNull().references("consultation", onDelete: .cascade)
                t.column("role", .text).notNull()
                t.column("publicKey", .blob).notNull()
                t.column("updatedAt", .double).notNull()
                t.primaryKey(["consultationId", "role"])
            }
            try db.create(table: "chatMessage") { t in
                t.column("consultationId", .text).notNull().references("consultation", onDelete: .cascade)
                t.column("seq", .integer).notNull()
                t.column("clientMsgId", .text).notNull()
                t.column("senderRole", .text).notNull()
                t.column("senderKeyId", .text).notNull()
                t.column("recipientKeyId", .text).notNull()
                t.column("nonce", .text).notNull()
                t.column("ciphertext", .text).notNull()
                t.column("storedAt", .double).notNull()
                t.primaryKey(["consultationId", "seq"])
                t.uniqueKey(["consultationId", "senderRole", "clientMsgId"])
            }
            // Signed checkpoints (C2SP signed notes), one per tree size signed.
            try db.create(table: "auditCheckpoint") { t in
                t.primaryKey("size", .integer)
                t.column("note", .text).notNull()
                t.column("signedAt", .double).notNull()
            }
        }
        migrator.registerMigration("v2: a join link per role, chat copies per recipient key, no stored keys") { db in
            // Links move to their own table, one per invited role; the
            // existing link becomes the deltaker's.
            try db.create(table: "joinLink") { t in
                t.primaryKey("hash", .blob)
                t.column("consultationId", .text).notNull().references("consultation", onDelete: .cascade)
                t.column("role", .text).notNull()
                t.column("issuedAt", .double).notNull()
                t.uniqueKey(["consultationId", "role"])
            }
            try db.execute(sql: "INSERT INTO joinLink (hash, consultationId, role, issuedAt) SELECT linkHash, id, 'deltaker', linkIssuedAt FROM consultation")
            // A chat message is stored as one sealed copy per recipient key.
            // A v1 envelope was one copy (to the other person's key), and stays
            // as such: its ciphertext is kept, never opened here.
            try db.create(table: "chatCopy") { t in
                t.column("consultationId", .text).notNull().references("consultation", onDelete: .cascade)
                t.column("seq", .integer).notNull()
                t.column("recipientKeyId", .text).notNull()
                t.column("clientMsgId", .text).notNull()
                t.column("senderParticipant", .text).notNull()
                t.column("senderRole", .text).notNull()
                t.column("senderKeyId", .text).notNull()
                t.column("nonce", .text).notNull()
                t.column("ciphertext", .text).notNull()
                t.column("storedAt", .double).notNull()
                t.primaryKey(["consultationId", "seq", "recipientKeyId"])
            }
            try db.create(index: "chatCopyByRecipient", on: "chatCopy", columns: ["consultationId", "recipientKeyId", "seq"])
            try db.create(index: "chatCopyBySender", on: "chatCopy", columns: ["consultationId", "senderKeyId", "clientMsgId"])
            try db.execute(sql: """
                INSERT INTO chatCopy
                    (consultationId, seq, recipientKeyId, clientMsgId, senderParticipant, senderRole, senderKeyId, nonce, ciphertext, storedAt)
                SELECT consultationId, seq, recipientKeyId, clientMsgId, '', senderRole, senderKeyId, nonce, ciphertext, storedAt FROM chatMessage
                """)
            try db.drop(table: "chatMessage")
            // Device keys live only in memory, while their holder is in the call.
            try db.drop(table: "chatKey")
            // The consultation row without its link columns (SQLite cannot drop
            // a UNIQUE column; foreign keys are checked when the migration ends).
            try db.create(table: "consultationV2") { t in
                t.primaryKey("id", .text)
                t.column("ownerId", .integer).notNull().indexed().references("account")
                t.column("title", .text)
                t.column("createdAt", .double).notNull()
                t.column("expiresAt", .double).notNull()
                t.column("endedAt", .double)
            }
            try db.execute(sql: """
                INSERT INTO consultationV2 (id, ownerId, title, createdAt, expiresAt, endedAt)
                SELECT id, ownerId, title, createdAt, expiresAt, endedAt FROM consultation
                """)
            try db.drop(table: "consultation")
            try db.rename(table: "consultationV2", to: "consultation")
        }
        migrator.registerMigration("v3: call homes, stored seats, route secret") { db in
            // Where each consultation's call lives (CallStore): its holder,
            // the epoch that fences out an earlier holder, and the lease.
            // A released home keeps its row (holder '') so that epochs only
            // grow.
            try db.create(table: "callHome") { t in
                t.primaryKey("consultationId", .text).references("consultation", onDelete: .cascade)
                t.column("instance", .text).notNull()
                t.column("holder", .text).notNull()
                t.column("epoch", .integer).notNull()
                t.column("leaseUntil", .double).notNull()
            }
            // The seats of a call, in order, for whoever takes the call over.
            try db.create(table: "callSeat") { t in
                t.column("consultationId", .text).notNull().references("consultation", onDelete: .cascade)
                t.column("position", .integer).notNull()
                t.column("participant", .text).notNull()
                t.column("role", .text).notNull()
                t.column("resumeHash", .blob).notNull().unique()
                t.column("lastKeyId", .text)
                t.primaryKey(["consultationId", "position"])
            }
            // Secrets shared by every instance of the store: 'route' (RouteKey).
            try db.create(table: "clusterSecret") { t in
                t.primaryKey("name", .text)
                t.column("secret", .blob).notNull()
            }
        }
        migrator.registerMigration("v4: who is at a call, for the overview on every instance") { db in
            try db.alter(table: "callHome") { t in
                t.add(column: "waiting", .integer).notNull().defaults(to: 0)
                t.add(column: "inCall", .integer).notNull().defaults(to: 0)
            }
        }
        migrator.registerMigration("v5: TOTP second factors, recovery codes, pending logins") { db in
            // The secret sealed (SecondFactorKey); lastStep is the last time
            // step accepted, and only a later one is (UPDATE … WHERE lastStep < ?).
            try db.create(table: "totpEnrolment") { t in
                t.primaryKey("accountId", .integer).references("account", onDelete: .cascade)
                t.column("sealedSecret", .blob).notNull()
                t.column("nonce", .blob).notNull()
                t.column("startedAt", .double).notNull()
                t.column("confirmedAt", .double)
                t.column("lastStep", .integer).notNull().defaults(to: 0)
            }
            // Hashes only (RecoveryCode.hash), each usable once.
            try db.create(table: "recoveryCode") { t in
                t.column("accountId", .integer).notNull().references("account", onDelete: .cascade)
                t.column("hash", .blob).notNull()
                t.column("usedAt", .double)
                t.primaryKey(["accountId", "hash"])
            }
            // Logins waiting for their second step, by the hash of their cookie token.
            try db.create(table: "pendingLogin") { t in
                t.primaryKey("tokenHash", .blob)
                t.column("accountId", .integer).notNull().indexed().references("account", onDelete: .cascade)
                t.column("purpose", .text).notNull()
                t.column("createdAt", .double).notNull()
                t.column("expiresAt", .double).notNull().indexed()
                t.column("attemptsLeft", .integer).notNull()
            }
        }
        migrator.registerMigration("v6: identity-provider links") { db in
            // The value of the identity provider's configured claim that logs
            // an account in (OpenID Connect), as the caller normalised it;
            // one per account, one account per value.
            try db.create(table: "accountIdentity") { t in
                t.primaryKey("value", .text)
                t.column("accountId", .integer).notNull().unique().references("account", onDelete: .cascade)
            }
        }
        migrator.registerMigration("v7: booked times") { db in
            // When the conversation starts and how long it is expected to
            // last: no more about the deltaker than before.
            try db.alter(table: "consultation") { t in
                t.add(column: "bookedStart", .double)
                t.add(column: "bookedMinutes", .integer)
            }
            try db.create(index: "consultation_bookedStart", on: "consultation", columns: ["bookedStart"])
        }
        return migrator
    }
}
