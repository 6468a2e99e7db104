import Foundation
import SamromCore
import SamromPostgres
import SamromTestSupport
import Testing

/// Links of local accounts to identity-provider claim values (issue 15,
/// OpenID Connect login) on every store: one value per account, one account
/// per value, decided atomically when two accounts want one value.
@Suite(.postgresCluster) struct IdentityLinkConformanceTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let hpr = "helseid://claims/hpr/hpr_number"

    static func account(_ username: String, in store: any SamromStorage) async throws -> Account {
        try await store.createAccount(username: username, role: .veileder, passwordHash: "h", at: now)
    }

    @Test(arguments: StoreKind.allCases) func linkAndFind(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let kari = try await Self.account("kari", in: store)
            let ola = try await Self.account("ola", in: store)
            #expect(try await store.identity(of: kari.id) == nil)
            #expect(try await store.linkIdentity("kari@kommune.no", to: kari.id))
            #expect(try await store.account(identity: "kari@kommune.no") == kari)
            #expect(try await store.identity(of: kari.id) == "kari@kommune.no")
            #expect(try await store.identity(of: ola.id) == nil)
            // Linking the value it has again changes nothing.
            #expect(try await store.linkIdentity("kari@kommune.no", to: kari.id))
            #expect(try await store.account(identity: "kari@kommune.no") == kari)

            // Unknown values, and values that differ in any byte, find nobody.
            #expect(try await store.account(identity: "ola@kommune.no") == nil)
            #expect(try await store.account(identity: "Kari@kommune.no") == nil)
            #expect(try await store.account(identity: "kari@kommune.no ") == nil)
            #expect(try await store.account(identity: "") == nil)
            let composed = "b\u{E5}rd", decomposed = "ba\u{30A}rd"
            #expect(composed == decomposed, "canonically equivalent, as Swift compares")
            #expect(try await store.linkIdentity(composed, to: ola.id))
            #expect(try await store.account(identity: decomposed) == nil, "the store compares bytes; the caller normalises")
            #expect(try await store.identity(of: ola.id).map { Array($0.utf8) } == Array(composed.utf8))

            // A claim value as HelseID sends it, stored and found as given.
            #expect(try await store.linkIdentity(Self.hpr + "=9144889", to: ola.id))
            #expect(try await store.account(identity: Self.hpr + "=9144889") == ola)

            // A link grants nothing and survives disabling: the account just cannot log in.
            #expect(try await store.disableAccount(username: "kari", at: Self.now + 5))
            let disabled = try #require(try await store.account(identity: "kari@kommune.no"))
            #expect(disabled.id == kari.id && disabled.role == .veileder && disabled.disabledAt == Self.now + 5)
            #expect(try await store.identity(of: kari.id) == "kari@kommune.no")
        }
    }

    @Test(arguments: StoreKind.allCases) func relinkReplacesAndNilRemoves(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let kari = try await Self.account("kari", in: store)
            let ola = try await Self.account("ola", in: store)
            #expect(try await store.linkIdentity("kari", to: kari.id))
            #expect(try await store.linkIdentity("kari.nordmann", to: kari.id))
            #expect(try await store.account(identity: "kari") == nil, "the old value no longer finds it")
            #expect(try await store.account(identity: "kari.nordmann") == kari)
            #expect(try await store.identity(of: kari.id) == "kari.nordmann")
            // The old value is free again.
            #expect(try await store.linkIdentity("kari", to: ola.id))
            #expect(try await store.account(identity: "kari") == ola)

            #expect(try await store.linkIdentity(nil, to: kari.id))
            #expect(try await store.identity(of: kari.id) == nil)
            #expect(try await store.account(identity: "kari.nordmann") == nil)
            // Removing what is not there is no error.
            #expect(try await store.linkIdentity(nil, to: kari.id))
            // Ola's link is untouched, and the removed value can be taken.
            #expect(try await store.account(identity: "kari") == ola)
            #expect(try await store.linkIdentity("kari.nordmann", to: ola.id))
            #expect(try await store.account(identity: "kari.nordmann") == ola)
            #expect(try await store.account(identity: "kari") == nil)
        }
    }

    @Test(arguments: StoreKind.allCases) func aTakenValueIsAConflictAndChangesNothing(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let kari = try await Self.account("kari", in: store)
            let ola = try await Self.account("ola", in: store)
            let per = try await Self.account("per", in: store)
            #expect(try await store.linkIdentity("kari@kommune.no", to: kari.id))
            #expect(try await store.linkIdentity("ola@kommune.no", to: ola.id))

            // Ola, linked, and Per, not linked: each refused, each unchanged.
            for (account, had) in [(ola, "ola@kommune.no" as String?), (per, nil)] {
                let error = await #expect(throws: StorageError.self) {
                    try await store.linkIdentity("kari@kommune.no", to: account.id)
                }
                #expect(error?.code == .conflict)
                #expect(try await store.identity(of: account.id) == had)
            }
            #expect(try await store.account(identity: "kari@kommune.no") == kari)
            #expect(try await store.account(identity: "ola@kommune.no") == ola)
            #expect(try await store.identity(of: kari.id) == "kari@kommune.no")
        }
    }

    @Test(arguments: StoreKind.allCases) func anUnknownAccountIsFalse(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let kari = try await Self.account("kari", in: store)
            let nobody = AccountID(rawValue: kari.id.rawValue + 1000)
            #expect(try await store.linkIdentity("nobody@kommune.no", to: nobody) == false)
            #expect(try await store.linkIdentity(nil, to: nobody) == false)
            #expect(try await store.account(identity: "nobody@kommune.no") == nil)
            #expect(try await store.identity(of: nobody) == nil)
            // The value was not taken by the attempt.
            #expect(try await store.linkIdentity("nobody@kommune.no", to: kari.id))
        }
    }

    /// Accounts linked to one value at once: exactly one gets it, every other
    /// is told of the conflict, and the losers keep no link.
    @Test(arguments: StoreKind.allCases) func accountsRacingForOneValue(kind: StoreKind) async throws {
        try await kind.withStore { store in
            var accounts: [AccountID] = []
            for name in ["kari", "ola", "per", "siri", "anne", "nils"] {
                accounts.append(try await Self.account(name, in: store).id)
            }
            for round in 0..<8 {
                let value = "shared-\(round)@kommune.no"
                // Two accounts in most rounds, all of them in the last ones.
                let racing = round < 6 ? [accounts[round % accounts.count], accounts[(round + 1) % accounts.count]] : accounts
                let outcomes = try await withThrowingTaskGroup(of: (AccountID, StorageError.Code?).self) { group in
                    for account in racing {
                        group.addTask {
                            do {
                                let linked = try await store.linkIdentity(value, to: account)
                                #expect(linked)
                                return (account, nil)
                            } catch let error as StorageError {
                                return (account, error.code)
                            }
                        }
                    }
                    return try await group.reduce(into: [(AccountID, StorageError.Code?)]()) { $0.append($1) }
                }
                let winners = outcomes.filter { $0.1 == nil }.map(\.0)
                #expect(winners.count == 1, "round \(round): \(outcomes)")
                #expect(outcomes.filter { $0.1 == .conflict }.count == racing.count - 1, "round \(round): \(outcomes)")
                let winner = try #require(winners.first)
                #expect(try await store.account(identity: value)?.id == winner)
                for account in racing {
                    #expect(try await store.identity(of: account) == (account == winner ? value : nil), "round \(round)")
                }
                // Free every link for the next round.
                for account in accounts { #expect(try await store.linkIdentity(nil, to: account)) }
            }
        }
    }

    /// A PostgreSQL database from before the links (version 4) takes the
    /// migration with its accounts kept, and records it once.
    @Test func aVersion4DatabaseIsMigrated() async throws {
        let server = try PostgresCluster.server()
        let database = "before_identity"
        let url = try await server.createDatabase(database)
        let store = try await PostgresStore.connect(url: url, logger: .quiet)
        let latest = try await store.schemaVersion()
        #expect(latest.version >= 5 && latest.migrations == latest.version)
        let kari = try await Self.account("kari", in: store)
        await store.close()
        // Back to version 4: the later migrations (5: links, 6: booked times) undone by hand.
        _ = try await server.psql(
            """
            DROP TABLE account_identity; ALTER TABLE consultation DROP COLUMN booked_start, DROP COLUMN booked_minutes;
            DELETE FROM samrom_schema WHERE version >= 5
            """, database: database)

        let migrated = try await PostgresStore.connect(url: url, logger: .quiet)
        #expect(try await migrated.schemaVersion() == latest)
        #expect(try await migrated.account(id: kari.id) == kari)
        #expect(try await migrated.linkIdentity("kari@kommune.no", to: kari.id))
        #expect(try await migrated.account(identity: "kari@kommune.no") == kari)
        await migrated.close()
    }
}
