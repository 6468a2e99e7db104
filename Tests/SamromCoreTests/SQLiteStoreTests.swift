import Foundation
import Testing
import SamromCore
@testable import SamromStore

/// The real SQLite store on disk.
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
                Consultation(id: id, owner: account.id, title: "Oppstart", createdAt: now, expiresAt: now.addingTimeInterval(60),
                             linkHash: token.hash, linkIssuedAt: now))
        }
        let reopened = try SQLiteStore(directory: directory)
        let kari = try #require(try await reopened.account(username: "kari"))
        #expect(kari.role == .veileder)
        let found = try #require(try await reopened.consultation(linkHash: token.hash))
        #expect(found.id == id && found.title == "Oppstart")
        #expect(try await reopened.consultation(linkHash: JoinToken.random().hash) == nil)

        let newToken = JoinToken.random()
        try await reopened.replaceLink(of: id, with: newToken.hash, at: now)
        #expect(try await reopened.consultation(linkHash: token.hash) == nil)
        #expect(try await reopened.consultation(linkHash: newToken.hash)?.id == id)
        #expect(try await reopened.endConsultation(id, at: now))
        #expect(try await !reopened.endConsultation(id, at: now))
        // WAL mode, as promised.
        #expect(try await reopened.journalMode() == "wal")
    }

    @Test func disablingDeletesSessions() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(directory: directory)
        let now = Date()
        let account = try await store.createAccount(username: "ola", role: .veileder, passwordHash: "h", at: now)
        let token = SessionToken.random()
        try await store.insertSession(LoginSession(tokenHash: token.hash, account: account.id, createdAt: now, lastSeenAt: now, expiresAt: now.addingTimeInterval(60)))
        #expect(try await store.session(tokenHash: token.hash) != nil)
        #expect(try await store.disableAccount(username: "ola", at: now))
        #expect(try await store.session(tokenHash: token.hash) == nil)
        #expect(try await !store.disableAccount(username: "nobody", at: now))
    }

    @Test func auditAppendsInOrder() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(directory: directory)
        for i in 0..<5 {
            let seq = try await store.appendAudit(
                AuditEvent(at: Date(), actor: .system, action: .login, outcome: .allowed, reason: "n\(i)", clientIP: nil))
            #expect(seq.seq == UInt64(i))
            #expect(seq.leafHash == MerkleTree.leafHash(seq.canonicalBytes ?? []))
        }
        let entries = try await store.auditEntries(from: 2, limit: 10)
        #expect(entries.map(\.seq) == [2, 3, 4])
        #expect(entries.first?.event.reason == "n2")
    }

    @Test func aFileWhereTheDirectoryShouldBeIsAClearError() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("samrom-file-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: path.path, contents: Data("x".utf8))
        defer { try? FileManager.default.removeItem(at: path) }
        #expect(throws: StorageError.self) { try SQLiteStore(directory: path) }
    }
}
