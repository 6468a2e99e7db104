import Foundation
import Testing
import GRDB
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

    /// Every copy of a message under one seq; each recipient reads only its
    /// own copies; the same sender key's clientMsgId is stored once.
    @Test func chatCopiesPerRecipient() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(directory: directory)
        let now = Date()
        let account = try await store.createAccount(username: "kari", role: .veileder, passwordHash: "h", at: now)
        let id = ConsultationID.random()
        try await store.insertConsultation(
            Consultation(id: id, owner: account.id, title: nil, createdAt: now, expiresAt: now.addingTimeInterval(60)),
            link: JoinLink(role: .deltaker, hash: JoinToken.random().hash, issuedAt: now))
        let sender = Member(participant: ParticipantID(rawValue: "p-a"), role: .deltaker)
        func message(_ msgId: String, to keys: [String]) -> ChatEnvelope {
            ChatEnvelope(clientMsgId: msgId, senderKeyId: Self.keyA, copies: keys.map { ChatCopy(recipientKeyId: $0, nonce: "n-\($0)", ciphertext: "c-\(msgId)-\($0)") })
        }
        let first = try await store.appendChat(message("m-1", to: [Self.keyA, Self.keyB, Self.keyC]), consultation: id, sender: sender, at: now)
        #expect(!first.duplicate && first.copies.map(\.seq) == [0, 0, 0])
        let again = try await store.appendChat(message("m-1", to: [Self.keyA, Self.keyB, Self.keyC]), consultation: id, sender: sender, at: now)
        #expect(again.duplicate && again.copies.map(\.seq) == [0, 0, 0])
        let second = try await store.appendChat(message("m-2", to: [Self.keyA, Self.keyB]), consultation: id, sender: sender, at: now)
        #expect(second.copies.first?.seq == 1)
        let forC = try await store.chatHistory(consultation: id, recipientKeyId: Self.keyC, afterSeq: nil, limit: 10)
        #expect(forC.map(\.copy.ciphertext) == ["c-m-1-\(Self.keyC)"])
        #expect(forC.first?.from == sender.participant && forC.first?.senderRole == .deltaker)
        let forB = try await store.chatHistory(consultation: id, recipientKeyId: Self.keyB, afterSeq: 0, limit: 10)
        #expect(forB.map(\.clientMsgId) == ["m-2"])
        #expect(try await store.purgeChat(closedBefore: now) == 0)
        #expect(try await store.purgeChat(closedBefore: now.addingTimeInterval(3600)) == 5)
    }

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

    /// Issue 13, 3: retention erases the oldest entries only, up to the first
    /// newer one, and declares it in the same transaction.
    @Test func erasureTakesThePrefixOfOldEntriesAndDeclaresIt() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(directory: directory)
        let day: TimeInterval = 86_400
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        // The clock stepped back at entry 3: it is newer than entry 4.
        for offset in [0.0, 1, 2, 20, 3, 30] {
            _ = try await store.appendAudit(
                AuditEvent(at: start.addingTimeInterval(offset * day), actor: .system, action: .login, outcome: .allowed, reason: "x", clientIP: nil))
        }
        let result = try await store.eraseAuditContent(before: start.addingTimeInterval(10 * day)) { erasure in
            AuditEvent(at: start.addingTimeInterval(40 * day), actor: .system, action: .purge, outcome: .allowed,
                reason: AuditErasure.reason(erasedBefore: erasure.end, olderThan: start, count: erasure.erased), clientIP: nil)
        }
        #expect(result == AuditErasureResult(erased: 3, end: 3))
        let records = try await store.auditRecords(from: 0, limit: 10)
        #expect(records.map { $0.canonicalBytes == nil } == [true, true, true, false, false, false, false])
        let declaration = try #require(try records.last?.entry())
        #expect(declaration.event.action == .purge)
        #expect(AuditErasure.declaredEnd(declaration.event.reason) == 3)
        // Nothing older left: no second declaration.
        let again = try await store.eraseAuditContent(before: start.addingTimeInterval(10 * day)) { _ in
            Issue.record("nothing was erased, nothing is declared")
            return AuditEvent(at: start, actor: .system, action: .purge, outcome: .allowed, reason: "", clientIP: nil)
        }
        #expect(again.erased == 0)
    }

    @Test func aFileWhereTheDirectoryShouldBeIsAClearError() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("samrom-file-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: path.path, contents: Data("x".utf8))
        defer { try? FileManager.default.removeItem(at: path) }
        #expect(throws: StorageError.self) { try SQLiteStore(directory: path) }
    }
}
