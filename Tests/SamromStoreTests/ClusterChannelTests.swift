import Foundation
import Logging
import SamromCore
import SamromPostgres
import SamromTestSupport
import Sodium
import Synchronization
import Testing

/// Several instances on one PostgreSQL database (issue 14), each its own
/// `PostgresStore` connected to the same URL: the control events between them
/// (LISTEN/NOTIFY, with a resynchronise after a lost connection), the audit
/// log's signing turn (an advisory lock), a transparency log signed by
/// whoever holds it, and the verifier key the first of them records.
///
/// Connections are lost for real: the server terminates their backends.
/// Nothing sleeps for a fixed time; every wait polls with a deadline.
@Suite(.postgresCluster, .timeLimit(.minutes(1))) struct ClusterChannelTests {
    // MARK: Events

    @Test func everyListenerGetsEveryEventInOrderWithItsPublisher() async throws {
        try await Self.withTwoStores { _, first, second, _ in
            let atFirst = Listening(first), atSecond = Listening(second)
            try await atFirst.waitUntilListening(publisher: second)
            try await atSecond.waitUntilListening(publisher: first)

            let id = ConsultationID.random()
            let fromSecond: [ClusterEvent] = [
                .consultationEnded(id), .linkReplaced(id, .deltaker), .linkReplaced(id, .tolk), .accountDisabled(AccountID(rawValue: 42)),
            ]
            for event in fromSecond { try await second.publish(event, from: "b/boot-2") }
            try await first.publish(.accountDisabled(AccountID(rawValue: 7)), from: "a/boot-1")
            let expected = fromSecond.map { ClusterDelivery.event($0, from: "b/boot-2") }
                + [.event(.accountDisabled(AccountID(rawValue: 7)), from: "a/boot-1")]

            // The publisher's own listener hears its own events too: the
            // cluster bus, not the channel, skips them by holder.
            for listening in [atFirst, atSecond] {
                #expect(await eventually { await listening.deliveries.count >= expected.count })
                #expect(await listening.deliveries == expected)
            }
            #expect(try await atFirst.stop())
            #expect(try await atSecond.stop())
        }
    }

    @Test func aLostListenerReconnectsAndResynchronises() async throws {
        try await Self.withTwoStores { database, first, second, _ in
            let listening = Listening(first)
            try await listening.waitUntilListening(publisher: second)
            try await second.publish(.accountDisabled(AccountID(rawValue: 1)), from: "b/1")
            #expect(await eventually { await listening.deliveries.count == 1 })

            // The server ends the listening connection.
            #expect(try await Self.terminate(database, listeners: true) == 1)
            #expect(await eventually(within: .seconds(10)) { await listening.deliveries.contains(.resynchronise) })
            // Once it says so it listens again: what is published now arrives.
            let id = ConsultationID.random()
            try await second.publish(.consultationEnded(id), from: "b/1")
            #expect(await eventually { await listening.deliveries.count == 3 })
            #expect(await listening.deliveries == [
                .event(.accountDisabled(AccountID(rawValue: 1)), from: "b/1"), .resynchronise, .event(.consultationEnded(id), from: "b/1"),
            ])
            // On one connection of its own, the lost one gone.
            #expect(try await Self.listenerCount(database) == 1)

            // Lost again: again.
            #expect(try await Self.terminate(database, listeners: true) == 1)
            #expect(await eventually(within: .seconds(10)) { await listening.deliveries.filter { $0 == .resynchronise }.count == 2 })
            try await second.publish(.linkReplaced(id, .tolk), from: "b/1")
            #expect(await eventually { await listening.deliveries.last == .event(.linkReplaced(id, .tolk), from: "b/1") })
            #expect(try await listening.stop())
        }
    }

    /// Events published while the listener could not connect at all (not
    /// only after a loss) are gone too: its first LISTEN says so.
    @Test func aListenerThatCouldNotConnectAtFirstResynchronises() async throws {
        try await Self.withTwoStores { database, first, second, log in
            try await Self.allowConnections(database, false)
            let listening = Listening(first)
            #expect(await eventually(within: .seconds(10)) { log.contains("cannot listen for cluster events") })
            try await Self.allowConnections(database, true)
            try await listening.waitUntilListening(publisher: second)
            #expect(await listening.all.first == .resynchronise)
            #expect(await listening.deliveries == [.resynchronise])
            #expect(try await listening.stop())
        }
    }

    @Test func cancellingEndsListenPromptly() async throws {
        try await Self.withTwoStores { database, first, second, log in
            // While listening.
            let listening = Listening(first)
            try await listening.waitUntilListening(publisher: second)
            #expect(try await Self.listenerCount(database) == 1)
            listening.task.cancel()
            #expect(await eventually(within: .seconds(2)) { await listening.ended })
            // Its connection is closed with it.
            #expect(await eventually { (try? await Self.listenerCount(database)) == 0 })
            #expect(await listening.deliveries.isEmpty)

            // While it cannot connect, between two attempts.
            try await Self.allowConnections(database, false)
            let waiting = Listening(first)
            #expect(await eventually(within: .seconds(10)) { log.contains("cannot listen for cluster events") })
            waiting.task.cancel()
            #expect(await eventually(within: .seconds(2)) { await waiting.ended })
            try await Self.allowConnections(database, true)
            #expect(await waiting.all.isEmpty)
        }
    }

    // MARK: The signing turn

    @Test func oneStoreAtATimeHoldsTheSigningTurn() async throws {
        try await Self.withTwoStores { database, first, second, _ in
            #expect(try await Self.turnHolders(database).isEmpty)
            #expect(await first.holdSigningTurn())
            #expect(await !second.holdSigningTurn())
            // Asking again keeps it, on the same connection.
            let holder = try await Self.turnHolders(database)
            #expect(holder.count == 1)
            #expect(await first.holdSigningTurn())
            #expect(await !second.holdSigningTurn())
            #expect(try await Self.turnHolders(database) == holder)

            // Released, it is the next asker's.
            await first.releaseSigningTurn()
            #expect(try await Self.turnHolders(database).isEmpty)
            #expect(await second.holdSigningTurn())
            #expect(await !first.holdSigningTurn())
            let secondHolder = try await Self.turnHolders(database)
            #expect(secondHolder.count == 1 && secondHolder != holder)

            // Its holder's connection is lost: the lock goes with it, and the
            // holder says it no longer holds the turn on its next ask (the
            // first check before signing), even if the turn is free again.
            #expect(try await Self.terminate(database, listeners: false) == 1)
            #expect(try await Self.turnHolders(database).isEmpty)
            #expect(await first.holdSigningTurn())
            #expect(await !second.holdSigningTurn())
            #expect(await !second.holdSigningTurn())

            #expect(try await Self.terminate(database, listeners: false) == 1)
            #expect(await !first.holdSigningTurn())
            // The ask after takes it again, on a new connection.
            #expect(await first.holdSigningTurn())
            #expect(await !second.holdSigningTurn())
            #expect(try await Self.turnHolders(database).count == 1)

            // Closing a store lets its turn go.
            await first.close()
            #expect(try await Self.turnHolders(database).isEmpty)
            #expect(await second.holdSigningTurn())
        }
    }

    @Test func concurrentAsksGiveTheTurnToExactlyOne() async throws {
        try await Self.withTwoStores { database, first, second, _ in
            let answers = await withTaskGroup(of: (Int, Bool).self) { group in
                for i in 0..<8 {
                    let store = i.isMultiple(of: 2) ? first : second
                    group.addTask { (i % 2, await store.holdSigningTurn()) }
                }
                return await group.reduce(into: [(Int, Bool)]()) { $0.append($1) }
            }
            // Only one store has it; within it, every ask may say so (the
            // store holds it, whichever of its asks took it).
            let holding = Set(answers.filter(\.1).map(\.0))
            #expect(holding.count == 1)
            #expect(try await Self.turnHolders(database).count == 1)
            let holder = try #require(holding.first)
            #expect(await (holder == 0 ? first : second).holdSigningTurn())
            #expect(await !(holder == 0 ? second : first).holdSigningTurn())
        }
    }

    /// Two instances append to one log; only the holder of the turn signs,
    /// the other answers with the latest stored checkpoint; when the turn
    /// passes, the other signs; every checkpoint verifies.
    @Test func onlyTheTurnHolderSignsCheckpoints() async throws {
        try await Self.withTwoStores { _, first, second, _ in
            let signer = try NoteSigner(name: "samrom.test/audit", key: .generate())
            let one = try await TransparencyLog.open(store: first, signer: signer, verifier: signer.verifier, clock: .system, turn: first)
            let two = try await TransparencyLog.open(store: second, signer: signer, verifier: signer.verifier, clock: .system, turn: second)
            func size(_ note: String) throws -> UInt64 { try Checkpoint.parse(body: signer.verifier.open(note)).size }

            // The first holds the turn and has signed nothing yet: the second has no checkpoint to give.
            #expect(await first.holdSigningTurn())
            let none = await #expect(throws: StorageError.self) { try await two.checkpoint() }
            #expect(none?.code == .unavailable)

            try await one.record(Fixture.event("one-1"))
            try await two.record(Fixture.event("two-1"))
            let n1 = try await one.checkpoint()
            #expect(try size(n1) == 2)
            try await two.record(Fixture.event("two-2"))
            #expect(try await two.checkpoint() == n1)
            #expect(try await first.auditCheckpoints() == [n1])
            // The holder signs what the other appended.
            let n2 = try await one.checkpoint()
            #expect(try size(n2) == 3)
            #expect(try await two.checkpoint() == n2)
            // Nothing new: nothing signed.
            #expect(try await one.checkpoint() == n2)

            // The turn passes: the second signs, the first no longer does.
            await first.releaseSigningTurn()
            try await one.record(Fixture.event("one-2"))
            let n3 = try await two.checkpoint()
            #expect(try size(n3) == 4)
            #expect(try await one.checkpoint() == n3)
            try await one.record(Fixture.event("one-3"))
            #expect(try await one.checkpoint() == n3)
            let n4 = try await two.checkpoint()
            #expect(try size(n4) == 5)
            #expect(try await second.auditCheckpoints() == [n1, n2, n3, n4])

            let report = try await AuditVerifier.verify(store: first, verifier: signer.verifier, savedCheckpoint: n1)
            #expect(report.isIntact, "\(String(describing: report.failure))")
            #expect(report.size == 5)
            #expect(report.checkpointsVerified == 4)
        }
    }

    // MARK: The verifier key

    @Test(arguments: StoreKind.allCases) func theFirstRecordedVerifierKeyStays(kind: StoreKind) async throws {
        try await kind.withStore { store in
            #expect(try await store.auditVerifierKey(recording: nil) == nil)
            #expect(try await store.auditVerifierKey(recording: nil) == nil)
            let first = try Self.verifierKey(), second = try Self.verifierKey()
            #expect(try await store.auditVerifierKey(recording: first) == first)
            #expect(try await store.auditVerifierKey(recording: second) == first)
            #expect(try await store.auditVerifierKey(recording: nil) == first)
            #expect(try await store.auditVerifierKey(recording: first) == first)
        }
    }

    @Test(arguments: StoreKind.allCases) func concurrentFirstRecordingsAgree(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let keys = try (0..<8).map { _ in try Self.verifierKey() }
            let answers = try await withThrowingTaskGroup(of: String?.self) { group in
                for key in keys { group.addTask { try await store.auditVerifierKey(recording: key) } }
                return try await group.reduce(into: [String?]()) { $0.append($1) }
            }
            #expect(answers.count == 8)
            let recorded = try #require(answers.first ?? nil)
            #expect(keys.contains(recorded))
            #expect(answers.allSatisfy { $0 == recorded })
            #expect(try await store.auditVerifierKey(recording: nil) == recorded)
        }
    }

    @Test func instancesOnOneDatabaseRecordOneVerifierKey() async throws {
        try await Self.withTwoStores { _, first, second, _ in
            let keys = try (0..<8).map { _ in try Self.verifierKey() }
            let answers = try await withThrowingTaskGroup(of: String?.self) { group in
                for (i, key) in keys.enumerated() {
                    let store = i.isMultiple(of: 2) ? first : second
                    group.addTask { try await store.auditVerifierKey(recording: key) }
                }
                return try await group.reduce(into: [String?]()) { $0.append($1) }
            }
            let recorded = try #require(answers.first ?? nil)
            #expect(keys.contains(recorded))
            #expect(answers.allSatisfy { $0 == recorded })
            #expect(try await first.auditVerifierKey(recording: try Self.verifierKey()) == recorded)
            #expect(try await second.auditVerifierKey(recording: nil) == recorded)
        }
    }

    static func verifierKey() throws -> String {
        try NoteSigner(name: "samrom.test/audit", key: .generate()).verifier.verifierKey
    }

    // MARK: Helpers

    /// Two stores on one new database of the suite's cluster, as two instances
    /// would be; `body` gets the database's name and what they logged.
    fileprivate static func withTwoStores<T: Sendable>(
        _ body: (String, PostgresStore, PostgresStore, LogRecord) async throws -> T
    ) async throws -> T {
        let server = try PostgresCluster.server()
        let database = "samrom_cluster_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
        let url = try await server.createDatabase(database)
        let log = LogRecord()
        let logger = Logger(label: "samrom.tests.cluster") { _ in RecordingLogHandler(record: log) }
        let first = try await PostgresStore.connect(url: url, logger: logger)
        do {
            let second = try await PostgresStore.connect(url: url, logger: logger)
            do {
                let value = try await body(database, first, second, log)
                await second.close()
                await first.close()
                return value
            } catch {
                await second.close()
                throw error
            }
        } catch {
            await first.close()
            // Never left refusing connections for the next test's cleanup.
            try? await allowConnections(database, true)
            throw error
        }
    }

    /// Terminates (and waits for the end of) the backends of `database` that
    /// listen for cluster events, or else the one holding the signing turn;
    /// returns how many.
    static func terminate(_ database: String, listeners: Bool) async throws -> Int {
        let which = listeners ? listenersQuery(database) : turnHoldersQuery(database)
        let output = try await PostgresCluster.server().psql(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM (\(which)) AS doomed")
        return try #require(Int(output.trimmingCharacters(in: .whitespacesAndNewlines)), "\(output)")
    }

    /// The connections of `database` whose last statement was a LISTEN: the
    /// cluster channel's (postgres-nio sends `LISTEN "samrom_events";`).
    static func listenersQuery(_ database: String) -> String {
        """
        SELECT pid FROM pg_stat_activity
        WHERE datname = '\(database)' AND query ILIKE 'LISTEN%samrom_events%' AND pid <> pg_backend_pid()
        """
    }

    static func listenerCount(_ database: String) async throws -> Int {
        let output = try await PostgresCluster.server().psql("SELECT count(*) FROM (\(listenersQuery(database))) AS listening")
        return try #require(Int(output.trimmingCharacters(in: .whitespacesAndNewlines)), "\(output)")
    }

    /// The backend holding the signing turn: the session advisory lock
    /// 0x73616D72_6F6D0002 (a bigint key is classid = its high half, objid =
    /// its low half, objsubid 1).
    static func turnHoldersQuery(_ database: String) -> String {
        """
        SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database
        WHERE d.datname = '\(database)' AND l.locktype = 'advisory' AND l.granted
          AND l.classid = \(0x7361_6D72) AND l.objid = \(0x6F6D_0002) AND l.objsubid = 1
        """
    }

    static func turnHolders(_ database: String) async throws -> [Int] {
        let output = try await PostgresCluster.server().psql(turnHoldersQuery(database))
        return output.split(separator: "\n").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// New connections to `database` refused (existing ones stay) or allowed again.
    static func allowConnections(_ database: String, _ allowed: Bool) async throws {
        try await PostgresCluster.server().psql("ALTER DATABASE \"\(database)\" ALLOW_CONNECTIONS \(allowed)")
    }
}

/// Polls `condition` every 20 ms until it holds or `timeout` has passed;
/// whether it held.
fileprivate func eventually(within timeout: Duration = .seconds(5), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while true {
        if await condition() { return true }
        if ContinuousClock.now >= deadline { return false }
        try? await Task.sleep(for: .milliseconds(20))
    }
}

/// A `listen` running in a task of its own, and what it delivered.
fileprivate final class Listening: Sendable {
    /// Probes, published until the listener hears one, are from this holder.
    static let probe = "probe/listening"

    let record: Record
    let task: Task<Void, Never>

    actor Record {
        var all: [ClusterDelivery] = []
        var ended = false
        func append(_ delivery: ClusterDelivery) { all.append(delivery) }
        func end() { ended = true }
    }

    init(_ channel: any ClusterChannel) {
        let record = Record()
        self.record = record
        task = Task {
            await channel.listen { await record.append($0) }
            await record.end()
        }
    }

    /// Also when a test fails before it stops the listener.
    deinit { task.cancel() }

    /// Everything delivered, probes included.
    var all: [ClusterDelivery] { get async { await record.all } }
    /// Everything delivered but the probes.
    var deliveries: [ClusterDelivery] {
        get async { await record.all.filter { $0 != .event(.accountDisabled(AccountID(rawValue: 0)), from: Self.probe) } }
    }
    var ended: Bool { get async { await record.ended } }

    /// Publishes probes until one arrives: from then on the listener hears
    /// everything published (NOTIFY delivers in commit order).
    func waitUntilListening(publisher: any ClusterChannel, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let heard = await eventually(within: .seconds(10)) {
            do {
                try await publisher.publish(.accountDisabled(AccountID(rawValue: 0)), from: Self.probe)
            } catch {
                return false
            }
            return await eventually(within: .milliseconds(300)) { await self.all.count > self.deliveries.count }
        }
        try #require(heard, "the listener never heard a probe", sourceLocation: sourceLocation)
    }

    /// Cancels it; whether it ended within two seconds.
    func stop() async throws -> Bool {
        task.cancel()
        return await eventually(within: .seconds(2)) { await self.ended }
    }
}

/// What a store logged (its messages), instead of printing them: the tests
/// lose connections on purpose.
fileprivate final class LogRecord: Sendable {
    private let messages = Mutex<[String]>([])
    func append(_ message: String) { messages.withLock { $0.append(message) } }
    func contains(_ message: String) -> Bool { messages.withLock { $0.contains(message) } }
}

fileprivate struct RecordingLogHandler: LogHandler {
    let record: LogRecord
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        record.append(event.message.description)
    }
}
