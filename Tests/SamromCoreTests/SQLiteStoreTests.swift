import Foundation
import Testing
import GRDB
import SamromCore
@testable import SamromStore

/// What only the SQLite store has: a file on disk that is reopened, WAL,
/// its own migrations. What every store must do is in
/// Tests/SamromStoreTests/StoreConformanceTests.swift.
@Suite struct SQLiteStoreTests {
    func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("samrom-store-\(UUID().uuidString)")
    }

    @Test func accountsAndConsultationsSurviveReopening() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let now = Date()
        let token = JoinToken.random()
        let id = ConsultationID.random()
        do {
            let store = try SQLiteStore(directory: directory)
            let account = try await store.createAccount(username: "kari", role: .veileder, passwordHash: "$argon2id$x", at: now)
            await #expect(throws: StorageError.self) {
                try await store.createAccount(username: "kari", role: .admin, passwordHash: "h", at: now)
            }
            try await store.insertConsultation(
                Consultation(id: id, owner: account.id, title: "Oppstart", createdAt: now, expiresAt: now.addingTimeInterval(60)),
                link: JoinLink(role: .deltaker, hash: token.hash, issuedAt: now))
        }
        let reopened = try SQLiteStore(directory: directory)
        let kari = try #require(try await reopened.account(username: "kari"))
        #expect(kari.role == .veileder)
        let found = try #require(try await reopened.consultation(linkHash: token.hash))
        #expect(found.consultation.id == id && found.consultation.title == "Oppstart" && found.role == .deltaker)
        #expect(try await reopened.consultation(linkHash: JoinToken.random().hash) == nil)

        // A tolk link beside the deltaker's; a new deltaker link replaces only the deltaker's.
        let tolk = JoinToken.random()
        try await reopened.replaceLink(of: id, with: JoinLink(role: .tolk, hash: tolk.hash, issuedAt: now))
        #expect(try await reopened.consultation(linkHash: tolk.hash)?.role == .tolk)
        let newToken = JoinToken.random()
        try await reopened.replaceLink(of: id, with: JoinLink(role: .deltaker, hash: newToken.hash, issuedAt: now))
        #expect(try await reopened.consultation(linkHash: token.hash) == nil)
        #expect(try await reopened.consultation(linkHash: newToken.hash)?.consultation.id == id)
        #expect(try await reopened.consultation(linkHash: tolk.hash)?.role == .tolk)
        #expect(try await reopened.links(of: id).map(\.role) == [.deltaker, .tolk])
        await #expect(throws: StorageError.self) {
            try await reopened.replaceLink(of: .random(), with: JoinLink(role: .tolk, hash: JoinToken.random().hash, issuedAt: now))
        }
        #expect(try await reopened.endConsultation(id, at: now))
        #expect(try await !reopened.endConsultation(id, at: now))
        // WAL mode, as promised.
        #expect(try await reopened.journalMode() == "wal")
    }

    static let keyA = "AAAAAAAAAAAAAAAAAAAAAA", keyB = "BBBBBBBBBBBBBBBBBBBBBB", keyC = "CCCCCCCCCCCCCCCCCCCCCC"

    /// A database written by the v1 server opens under v2 with nothing lost:
    /// its link becomes the deltaker link, its envelopes stay as copies.
    @Test func aV1DatabaseIsMigrated() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try DataDirectory.prepare(directory)
        let token = JoinToken.random()
        do {
            let pool = try DatabasePool(path: directory.appendingPathComponent("samrom.sqlite").path)
            try Schema.migrator.migrate(pool, upTo: "v1: accounts, sessions, consultations, audit")
            try await pool.write { db in
                try db.execute(sql: "INSERT INTO account (id, username, role, passwordHash, createdAt) VALUES (1, 'kari', 'veileder', 'h', 0)")
                try db.execute(
                    sql: "INSERT INTO consultation (id, ownerId, title, createdAt, expiresAt, linkHash, linkIssuedAt) VALUES ('c1', 1, 'Oppstart', 0, 4e9, ?, 5)",
                    arguments: [Data(token.hash.bytes)])
                try db.execute(sql: """
                    INSERT INTO chatMessage (consultationId, seq, clientMsgId, senderRole, senderKeyId, recipientKeyId, nonce, ciphertext, storedAt)
                    VALUES ('c1', 0, 'm-1', 'deltaker', '\(Self.keyA)', '\(Self.keyB)', 'n', 'c', 7)
                    """)
                try db.execute(sql: "INSERT INTO chatKey (consultationId, role, publicKey, updatedAt) VALUES ('c1', 'deltaker', x'00', 0)")
            }
        }
        let store = try SQLiteStore(directory: directory)
        let found = try #require(try await store.consultation(linkHash: token.hash))
        #expect(found.consultation.title == "Oppstart" && found.role == .deltaker)
        #expect(try await store.links(of: found.consultation.id).first?.issuedAt == Date(timeIntervalSince1970: 5))
        let copies = try await store.chatHistory(consultation: found.consultation.id, recipientKeyId: Self.keyB, afterSeq: nil, limit: 10)
        #expect(copies.map(\.clientMsgId) == ["m-1"] && copies.first?.senderKeyId == Self.keyA)
    }

    @Test func aFileWhereTheDirectoryShouldBeIsAClearError() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("samrom-file-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: path.path, contents: Data("x".utf8))
        defer { try? FileManager.default.removeItem(at: path) }
        #expect(throws: StorageError.self) { try SQLiteStore(directory: path) }
    }
}
