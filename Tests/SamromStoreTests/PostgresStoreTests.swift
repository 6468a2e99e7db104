import Foundation
import SamromCore
import SamromPostgres
import SamromTestSupport
import Testing

/// What only the PostgreSQL store has: several instances on one database,
/// its own schema migrations, and connecting over the network.
@Suite(.postgresCluster) struct PostgresStoreTests {
    /// Issue 14, 4: two instances (two pools) appending at once make one
    /// contiguous log.
    @Test func twoInstancesMakeOneLog() async throws {
        let url = try await PostgresCluster.server().createDatabase()
        let first = try await PostgresStore.connect(url: url, logger: .quiet, maximumConnections: 4)
        let second = try await PostgresStore.connect(url: url, logger: .quiet, maximumConnections: 4)
        let writers = 32, each = 25
        let started = ContinuousClock.now
        let records = try await withThrowingTaskGroup(of: [AuditRecord].self) { group in
            for writer in 0..<writers * 2 {
                let store = writer.isMultiple(of: 2) ? first : second
                group.addTask {
                    var mine: [AuditRecord] = []
                    for i in 0..<each { mine.append(try await store.appendAudit(Fixture.event("w\(writer)-\(i)"))) }
                    return mine
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        let total = writers * 2 * each
        print("\(total) audit appends from \(writers * 2) writers on two instances in \(ContinuousClock.now - started)")
        #expect(records.map(\.seq).sorted() == (0..<UInt64(total)).map { $0 })
        try await Fixture.expectContiguous(first, count: total)
        #expect(try await second.auditRecords(from: 0, limit: total) == records.sorted { $0.seq < $1.seq })
        await first.close()
        await second.close()
    }

    /// `--store-password-file`: a role that must give its password (scram)
    /// gets in with the one given apart from the URL, and not with another;
    /// a URL that has one as well is refused rather than guessed between.
    @Test func aPasswordGivenApartFromTheURLLogsIn() async throws {
        let server = try PostgresCluster.server()
        let role = PostgresServer.passwordRole
        let secret = "pw-\(UInt64.random(in: 0...UInt64.max))"
        try await server.psql("DROP ROLE IF EXISTS \(role); CREATE ROLE \(role) LOGIN PASSWORD '\(secret)'")
        let database = "samrom_pw_\(UInt32.random(in: 0...UInt32.max))"
        try await server.psql("CREATE DATABASE \(database) OWNER \(role)")
        let url = "postgres://\(role)@127.0.0.1:\(server.port)/\(database)?sslmode=disable"
        let store = try await PostgresStore.connect(url: url, password: secret, logger: .quiet, maximumConnections: 2)
        #expect(try await store.accountCount() == 0)
        await store.close()
        let wrong = await #expect(throws: StorageError.self) {
            try await PostgresStore.connect(url: url, password: "not-it", logger: .quiet)
        }
        #expect(wrong?.code == .unavailable)
        #expect(wrong.map { !"\($0)".contains("not-it") } ?? false, "the password is never in an error")
        let none = await #expect(throws: StorageError.self) { try await PostgresStore.connect(url: url, logger: .quiet) }
        #expect(none?.code == .unavailable)
        let twice = await #expect(throws: StorageError.self) {
            try await PostgresStore.connect(
                url: "postgres://\(role):\(secret)@127.0.0.1:\(server.port)/\(database)", password: secret, logger: .quiet)
        }
        #expect(twice?.reason.contains("password file") == true)
    }

    /// A second start finds the schema up to date and changes nothing;
    /// instances starting at once migrate once between them.
    @Test func migrationsRunOnce() async throws {
        let server = try PostgresCluster.server()
        let url = try await server.createDatabase()
        let store = try await PostgresStore.connect(url: url, logger: .quiet)
        let version = try await store.schemaVersion()
        #expect(version.version >= 1 && version.migrations == version.version)
        let kari = try await store.createAccount(
            username: "kari", role: .veileder, passwordHash: "h", at: Date(timeIntervalSince1970: 1_800_000_000))
        _ = try await store.appendAudit(Fixture.event("before"))
        await store.close()

        let reopened = try await PostgresStore.connect(url: url, logger: .quiet)
        #expect(try await reopened.schemaVersion() == version)
        #expect(try await reopened.account(username: "kari") == kari)
        #expect(try await reopened.appendAudit(Fixture.event("after")).seq == 1)
        await reopened.close()

        let fresh = try await server.createDatabase()
        let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
            for _ in 0..<4 { group.addTask { try await PostgresStore.connect(url: fresh, logger: .quiet, maximumConnections: 2) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for store in stores {
            #expect(try await store.schemaVersion() == version)
            await store.close()
        }
    }

    @Test func aNewerSchemaIsRefused() async throws {
        let server = try PostgresCluster.server()
        let url = try await server.createDatabase("newer")
        try await PostgresStore.connect(url: url, logger: .quiet).close()
        try await server.psql("INSERT INTO samrom_schema (version, name) VALUES (999, 'from the future')", database: "newer")
        let error = await #expect(throws: StorageError.self) { try await PostgresStore.connect(url: url, logger: .quiet) }
        #expect(error?.code == .corrupt)
        #expect(error?.reason.contains("999") == true)
    }

    @Test(arguments: [
        "", "not a url", "mysql://kari@127.0.0.1/samrom", "postgres://127.0.0.1/samrom", "postgres://kari@/samrom",
        "postgres://kari@127.0.0.1:0/samrom", "postgres://kari@127.0.0.1/a/b", "postgres://kari@127.0.0.1/samrom?sslmode=maybe",
        "postgres://kari@127.0.0.1/samrom?application_name=x",
    ])
    func aBadURLIsAClearError(url: String) async throws {
        let error = await #expect(throws: StorageError.self) { try await PostgresStore.connect(url: url, logger: .quiet) }
        #expect(error?.code == .unavailable)
        #expect(error?.reason.isEmpty == false)
    }

    /// Nothing listening, or no such database: an error at once, naming where.
    @Test func anUnreachableServerIsAClearError() async throws {
        let server = try PostgresCluster.server()
        let closed = try PostgresServer.freePort()
        let started = ContinuousClock.now
        let refused = await #expect(throws: StorageError.self) {
            try await PostgresStore.connect(url: "postgres://postgres@127.0.0.1:\(closed)/samrom", logger: .quiet)
        }
        #expect(refused?.code == .unavailable)
        #expect(refused?.reason.contains("cannot connect to PostgreSQL at postgres://postgres@127.0.0.1:\(closed)/samrom") == true)
        #expect(ContinuousClock.now - started < .seconds(5))

        let missing = await #expect(throws: StorageError.self) {
            try await PostgresStore.connect(url: server.url(database: "no_such_database"), logger: .quiet)
        }
        #expect(missing?.code == .unavailable)
        #expect(missing?.reason.contains("does not exist") == true)
        // The password never shows.
        let withPassword = await #expect(throws: StorageError.self) {
            try await PostgresStore.connect(url: "postgres://kari:hemmelig@127.0.0.1:\(closed)/samrom", logger: .quiet)
        }
        #expect(withPassword?.reason.contains("hemmelig") == false)
    }

    /// Closed: calls fail with an error, never a trap.
    @Test func aClosedStoreFails() async throws {
        let store = try await PostgresStore.connect(url: try await PostgresCluster.server().createDatabase(), logger: .quiet)
        await store.close()
        let error = await #expect(throws: StorageError.self) { try await store.accountCount() }
        #expect(error?.code == .unavailable)
        await #expect(throws: StorageError.self) { try await store.appendAudit(Fixture.event("late")) }
    }

    /// A database that would not make commits durable is refused.
    @Test func aDatabaseWithoutDurableCommitsIsRefused() async throws {
        let server = try PostgresCluster.server()
        let url = try await server.createDatabase("lax")
        try await server.psql("ALTER DATABASE lax SET synchronous_commit = off")
        let error = await #expect(throws: StorageError.self) { try await PostgresStore.connect(url: url, logger: .quiet) }
        #expect(error?.reason.contains("synchronous_commit") == true)
    }
}
