import Foundation
import Logging
import SamromCore
import SamromPostgres
import SamromStore
import SamromTestSupport
import Testing

/// Which store a conformance test runs against.
enum StoreKind: String, Sendable, CaseIterable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }

    /// A fresh, empty store of this kind for `body`: SQLite in a temporary
    /// directory, or a new database of the suite's PostgreSQL cluster.
    func withStore<T: Sendable>(_ body: (any SamromStorage) async throws -> T) async throws -> T {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("samrom-store-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            return try await body(try SQLiteStore(directory: directory))
        case .postgres:
            let url = try await PostgresCluster.server().createDatabase()
            let store = try await PostgresStore.connect(url: url, logger: .quiet)
            do {
                let value = try await body(store)
                await store.close()
                return value
            } catch {
                await store.close()
                throw error
            }
        }
    }
}

extension Logger {
    /// Warnings and worse only: the store logs its migrations at info.
    static var quiet: Logger {
        var logger = Logger(label: "samrom.tests.store")
        logger.logLevel = .warning
        return logger
    }
}

/// One PostgreSQL cluster for a whole suite (`@Suite(.postgresCluster)`):
/// started before its first test, stopped and deleted after its last, also
/// when tests fail.
struct PostgresCluster: SuiteTrait, TestScoping {
    @TaskLocal static var current: PostgresServer?

    static func server() throws -> PostgresServer {
        try #require(current, "the suite needs the .postgresCluster trait")
    }

    func scopeProvider(for test: Test, testCase: Test.Case?) -> PostgresCluster? {
        test.isSuite ? self : nil
    }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let started = ContinuousClock.now
        try await PostgresServer.withServer { server in
            print("PostgreSQL 15 for \(test.name) on 127.0.0.1:\(server.port), started in \(ContinuousClock.now - started)")
            try await Self.$current.withValue(server) { try await function() }
        }
    }
}

extension Trait where Self == PostgresCluster {
    static var postgresCluster: PostgresCluster { PostgresCluster() }
}

/// Small builders the suites share.
enum Fixture {
    static let keyA = "AAAAAAAAAAAAAAAAAAAAAA", keyB = "BBBBBBBBBBBBBBBBBBBBBB", keyC = "CCCCCCCCCCCCCCCCCCCCCC"

    static func event(_ reason: String, at: Date = Date(), action: AuditAction = .login, actor: AuditActor = .system,
        consultation: ConsultationID? = nil, outcome: AuditOutcome = .allowed) -> AuditEvent {
        AuditEvent(at: at, actor: actor, action: action, consultation: consultation, outcome: outcome, reason: reason, clientIP: nil)
    }

    /// An account and a consultation of it, valid for `lifetime` seconds from `now`.
    static func consultation(in store: any SamromStorage, owner username: String = "kari", now: Date = Date(), lifetime: TimeInterval = 3600)
        async throws -> ConsultationID
    {
        var owner = try await store.account(username: username)
        if owner == nil { owner = try await store.createAccount(username: username, role: .veileder, passwordHash: "h", at: now) }
        guard let owner else { throw StorageError(.notFound, "no owner") }
        let id = ConsultationID.random()
        try await store.insertConsultation(
            Consultation(id: id, owner: owner.id, title: nil, createdAt: now, expiresAt: now.addingTimeInterval(lifetime)),
            link: JoinLink(role: .deltaker, hash: JoinToken.random().hash, issuedAt: now))
        return id
    }

    static func message(_ msgId: String, from senderKey: String = keyA, to keys: [String]) -> ChatEnvelope {
        ChatEnvelope(
            clientMsgId: msgId, senderKeyId: senderKey,
            copies: keys.map { ChatCopy(recipientKeyId: $0, nonce: "n-\($0)", ciphertext: "c-\(msgId)-\($0)") })
    }

    static let sender = Member(participant: ParticipantID(rawValue: "p-a"), role: .deltaker)

    /// The whole log must be 0..<count, each leaf hash the hash of its bytes (where not erased).
    static func expectContiguous(_ store: any SamromStorage, count: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        #expect(try await store.auditCount() == UInt64(count), sourceLocation: sourceLocation)
        let records = try await store.auditRecords(from: 0, limit: count + 10)
        #expect(records.map(\.seq) == (0..<UInt64(count)).map { $0 }, sourceLocation: sourceLocation)
        for record in records where !record.isErased {
            #expect(record.leafHash == MerkleTree.leafHash(record.canonicalBytes ?? []), sourceLocation: sourceLocation)
            #expect(try record.entry()?.seq == record.seq, sourceLocation: sourceLocation)
        }
    }
}
