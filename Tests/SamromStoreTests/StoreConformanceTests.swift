import Foundation
import SamromCore
import Testing

/// The same assertions against every store the server can use: the
/// embedded SQLite and PostgreSQL (a real PostgreSQL 15 of the suite's own).
@Suite(.postgresCluster) struct StoreConformanceTests {
    // MARK: Accounts

    @Test(arguments: StoreKind.allCases) func accounts(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let now = Date(timeIntervalSince1970: 1_800_000_000.125)
            let kari = try await store.createAccount(username: "kari", role: .veileder, passwordHash: "$argon2id$x", at: now)
            let error = await #expect(throws: StorageError.self) {
                try await store.createAccount(username: "kari", role: .admin, passwordHash: "h", at: now)
            }
            #expect(error?.code == .conflict)
            let ola = try await store.createAccount(username: "ola.n", role: .admin, passwordHash: "h2", at: now)
            _ = try await store.createAccount(username: "ola-n", role: .veileder, passwordHash: "h3", at: now)
            _ = try await store.createAccount(username: "ola_n", role: .veileder, passwordHash: "h4", at: now)
            #expect(kari.id != ola.id)
            #expect(try await store.account(username: "kari") == kari)
            #expect(try await store.account(id: ola.id) == ola)
            #expect(try await store.account(username: "nobody") == nil)
            #expect(try await store.account(id: AccountID(rawValue: 987_654)) == nil)
            // Byte order, whatever the database's collation.
            #expect(try await store.accounts().map(\.username) == ["kari", "ola-n", "ola.n", "ola_n"])
            #expect(try await store.accountCount() == 4)

            try await store.updatePasswordHash("$argon2id$new", for: kari.id)
            #expect(try await store.account(id: kari.id)?.passwordHash == "$argon2id$new")

            let token = SessionToken.random()
            try await store.insertSession(
                LoginSession(tokenHash: token.hash, account: kari.id, createdAt: now, lastSeenAt: now, expiresAt: now.addingTimeInterval(60)))
            #expect(try await store.disableAccount(username: "kari", at: now.addingTimeInterval(5)))
            #expect(try await store.account(username: "kari")?.disabledAt == now.addingTimeInterval(5))
            #expect(try await store.session(tokenHash: token.hash) == nil)
            // Disabled already: still true, and the first time is kept.
            #expect(try await store.disableAccount(username: "kari", at: now.addingTimeInterval(9)))
            #expect(try await store.account(username: "kari")?.disabledAt == now.addingTimeInterval(5))
            #expect(try await !store.disableAccount(username: "nobody", at: now))
        }
    }

    // MARK: Sessions

    @Test(arguments: StoreKind.allCases) func sessionsExpire(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            let account = try await store.createAccount(username: "ola", role: .veileder, passwordHash: "h", at: now)
            let idle: TimeInterval = 600
            let fresh = SessionToken.random(), old = SessionToken.random(), idleToken = SessionToken.random()
            let freshSession = LoginSession(
                tokenHash: fresh.hash, account: account.id, createdAt: now, lastSeenAt: now, expiresAt: now.addingTimeInterval(3600))
            try await store.insertSession(freshSession)
            try await store.insertSession(LoginSession(
                tokenHash: old.hash, account: account.id, createdAt: now.addingTimeInterval(-7200),
                lastSeenAt: now.addingTimeInterval(-10), expiresAt: now.addingTimeInterval(-1)))
            try await store.insertSession(LoginSession(
                tokenHash: idleToken.hash, account: account.id, createdAt: now.addingTimeInterval(-900),
                lastSeenAt: now.addingTimeInterval(-idle - 1), expiresAt: now.addingTimeInterval(3600)))
            #expect(try await store.session(tokenHash: fresh.hash) == freshSession)
            #expect(try await store.session(tokenHash: SessionToken.random().hash) == nil)

            // The same token twice, or a session of no account: refused.
            let twice = await #expect(throws: StorageError.self) { try await store.insertSession(freshSession) }
            #expect(twice?.code == .conflict)
            let orphan = await #expect(throws: StorageError.self) {
                try await store.insertSession(LoginSession(
                    tokenHash: SessionToken.random().hash, account: AccountID(rawValue: 424_242), createdAt: now,
                    lastSeenAt: now, expiresAt: now.addingTimeInterval(60)))
            }
            #expect(orphan?.code == .conflict)

            #expect(try await store.deleteExpiredSessions(now: now, idleTimeout: idle) == 2)
            #expect(try await store.session(tokenHash: old.hash) == nil)
            #expect(try await store.session(tokenHash: idleToken.hash) == nil)

            // Touching keeps it from idling out.
            try await store.touchSession(tokenHash: fresh.hash, at: now.addingTimeInterval(idle - 1))
            #expect(try await store.session(tokenHash: fresh.hash)?.lastSeenAt == now.addingTimeInterval(idle - 1))
            #expect(try await store.deleteExpiredSessions(now: now.addingTimeInterval(idle + 10), idleTimeout: idle) == 0)
            try await store.deleteSession(tokenHash: fresh.hash)
            #expect(try await store.session(tokenHash: fresh.hash) == nil)
        }
    }

    // MARK: Consultations and links

    @Test(arguments: StoreKind.allCases) func consultationsAndLinks(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let now = Date(timeIntervalSince1970: 1_800_000_000.5)
            let owner = try await store.createAccount(username: "kari", role: .veileder, passwordHash: "h", at: now)
            let token = JoinToken.random()
            let first = Consultation(id: .random(), owner: owner.id, title: "Oppstart", createdAt: now, expiresAt: now.addingTimeInterval(60))
            let second = Consultation(
                id: .random(), owner: owner.id, title: nil, createdAt: now.addingTimeInterval(1), expiresAt: now.addingTimeInterval(61))
            try await store.insertConsultation(first, link: JoinLink(role: .deltaker, hash: token.hash, issuedAt: now))
            try await store.insertConsultation(second, link: JoinLink(role: .deltaker, hash: JoinToken.random().hash, issuedAt: now))
            let again = await #expect(throws: StorageError.self) {
                try await store.insertConsultation(first, link: JoinLink(role: .deltaker, hash: JoinToken.random().hash, issuedAt: now))
            }
            #expect(again?.code == .conflict)
            #expect(try await store.consultation(id: first.id) == first)
            #expect(try await store.consultation(id: .random()) == nil)
            #expect(try await store.consultations(owner: owner.id).map(\.id) == [second.id, first.id])
            #expect(try await store.consultations(owner: AccountID(rawValue: 999)).isEmpty)

            let found = try #require(try await store.consultation(linkHash: token.hash))
            #expect(found.consultation == first && found.role == .deltaker)
            #expect(try await store.consultation(linkHash: JoinToken.random().hash) == nil)

            // A tolk link beside the deltaker's; a new deltaker link replaces only the deltaker's.
            let tolk = JoinToken.random()
            try await store.replaceLink(of: first.id, with: JoinLink(role: .tolk, hash: tolk.hash, issuedAt: now))
            #expect(try await store.consultation(linkHash: tolk.hash)?.role == .tolk)
            let newToken = JoinToken.random()
            try await store.replaceLink(of: first.id, with: JoinLink(role: .deltaker, hash: newToken.hash, issuedAt: now.addingTimeInterval(2)))
            #expect(try await store.consultation(linkHash: token.hash) == nil)
            #expect(try await store.consultation(linkHash: newToken.hash)?.consultation.id == first.id)
            #expect(try await store.consultation(linkHash: tolk.hash)?.role == .tolk)
            let links = try await store.links(of: first.id)
            #expect(links == [
                JoinLink(role: .deltaker, hash: newToken.hash, issuedAt: now.addingTimeInterval(2)),
                JoinLink(role: .tolk, hash: tolk.hash, issuedAt: now),
            ])
            let missing = await #expect(throws: StorageError.self) {
                try await store.replaceLink(of: .random(), with: JoinLink(role: .tolk, hash: JoinToken.random().hash, issuedAt: now))
            }
            #expect(missing?.code == .notFound)

            #expect(try await store.endConsultation(first.id, at: now.addingTimeInterval(30)))
            #expect(try await !store.endConsultation(first.id, at: now.addingTimeInterval(40)))
            #expect(try await !store.endConsultation(.random(), at: now))
            #expect(try await store.consultation(id: first.id)?.endedAt == now.addingTimeInterval(30))
        }
    }

    // MARK: Audit

    @Test(arguments: StoreKind.allCases) func auditAppendsAndReads(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let start = Date(timeIntervalSince1970: 1_800_000_000)
            let consultation = ConsultationID.random()
            let actor = AuditActor(kind: .user, id: "7", role: "veileder")
            let events = [
                Fixture.event("n0", at: start),
                Fixture.event("n1", at: start.addingTimeInterval(10), action: .logout, actor: actor),
                Fixture.event("n2", at: start.addingTimeInterval(20), actor: actor, consultation: consultation, outcome: .denied),
                Fixture.event("n3", at: start.addingTimeInterval(30), consultation: consultation),
                Fixture.event("n4", at: start.addingTimeInterval(40), outcome: .error),
            ]
            var appended: [AuditRecord] = []
            for (i, event) in events.enumerated() {
                let record = try await store.appendAudit(event)
                #expect(record.seq == UInt64(i))
                #expect(record.leafHash == MerkleTree.leafHash(record.canonicalBytes ?? []))
                appended.append(record)
            }
            try await Fixture.expectContiguous(store, count: 5)
            #expect(try await store.auditRecords(from: 0, limit: 10) == appended)
            #expect(try await store.auditRecords(from: 3, limit: 1) == [appended[3]])
            let entries = try await store.auditEntries(from: 2, limit: 10)
            #expect(entries.map(\.seq) == [2, 3, 4])
            #expect(entries.first?.event.reason == "n2")
            // Beyond Int64: clamped, not a trap.
            #expect(try await store.auditRecords(from: .max, limit: 10).isEmpty)
            #expect(try await store.auditBatch(from: .max, limit: 10).count == 0)
            #expect(try await store.auditLeafHashes(from: .max, limit: 10).isEmpty)

            let batch = try await store.auditBatch(from: 1, limit: 3)
            #expect(batch.seqs == [1, 2, 3])
            #expect(batch.leafHashes == appended[1...3].flatMap(\.leafHash))
            #expect(batch.present == [true, true, true])
            for i in 0..<3 {
                #expect(Array(batch.bytes[batch.starts[i]..<batch.starts[i + 1]]) == appended[i + 1].canonicalBytes)
            }
            #expect(try await store.auditLeafHashes(from: 2, limit: 2) == appended[2...3].flatMap(\.leafHash))

            func search(_ filter: AuditFilter, limit: Int = 10) async throws -> [UInt64] {
                try await store.auditRecords(matching: filter, limit: limit).map(\.seq)
            }
            #expect(try await search(AuditFilter()) == [0, 1, 2, 3, 4])
            #expect(try await search(AuditFilter(), limit: 2) == [0, 1])
            #expect(try await search(AuditFilter(actor: "7")) == [1, 2])
            #expect(try await search(AuditFilter(consultation: consultation)) == [2, 3])
            #expect(try await search(AuditFilter(action: .logout)) == [1])
            #expect(try await search(AuditFilter(outcome: .denied)) == [2])
            #expect(try await search(AuditFilter(from: start.addingTimeInterval(10), to: start.addingTimeInterval(30))) == [1, 2])
            #expect(try await search(AuditFilter(afterSeq: 2)) == [3, 4])
            #expect(try await search(AuditFilter(afterSeq: .max)) == [])
            #expect(try await search(AuditFilter(actor: "7", consultation: consultation, outcome: .denied)) == [2])
        }
    }

    /// Issue 14, 4: many writers at once make one contiguous log whose every
    /// leaf hash is the hash of its bytes, and each writer got its own leaf.
    @Test(arguments: StoreKind.allCases) func concurrentAuditWriters(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let writers = 64, each = 20
            let records = try await withThrowingTaskGroup(of: [AuditRecord].self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        var mine: [AuditRecord] = []
                        for i in 0..<each { mine.append(try await store.appendAudit(Fixture.event("w\(writer)-\(i)"))) }
                        return mine
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(records.map(\.seq).sorted() == (0..<UInt64(writers * each)).map { $0 })
            try await Fixture.expectContiguous(store, count: writers * each)
            let stored = try await store.auditRecords(from: 0, limit: writers * each)
            #expect(stored == records.sorted { $0.seq < $1.seq })
            // Each writer's own appends are in its order.
            let reasons = try await store.auditEntries(from: 0, limit: writers * each).map(\.event.reason)
            for writer in 0..<writers {
                #expect(reasons.filter { $0.hasPrefix("w\(writer)-") } == (0..<each).map { "w\(writer)-\($0)" })
            }
        }
    }

    /// Issue 13, 3: retention erases the oldest entries only, up to the first
    /// newer one, and declares it in the same transaction.
    @Test(arguments: StoreKind.allCases) func erasureTakesThePrefixOfOldEntriesAndDeclaresIt(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let day: TimeInterval = 86_400
            let start = Date(timeIntervalSince1970: 1_800_000_000)
            // The clock stepped back at entry 3: it is newer than entry 4.
            for offset in [0.0, 1, 2, 20, 3, 30] {
                _ = try await store.appendAudit(Fixture.event("x", at: start.addingTimeInterval(offset * day)))
            }
            let result = try await store.eraseAuditContent(before: start.addingTimeInterval(10 * day)) { erasure in
                AuditEvent(
                    at: start.addingTimeInterval(40 * day), actor: .system, action: .purge, outcome: .allowed,
                    reason: AuditErasure.reason(erasedBefore: erasure.end, olderThan: start, count: erasure.erased), clientIP: nil)
            }
            #expect(result == AuditErasureResult(erased: 3, end: 3))
            let records = try await store.auditRecords(from: 0, limit: 10)
            #expect(records.map(\.isErased) == [true, true, true, false, false, false, false])
            #expect(records.allSatisfy { $0.leafHash.count == 32 })
            let declaration = try #require(try records.last?.entry())
            #expect(declaration.event.action == .purge && declaration.seq == 6)
            #expect(AuditErasure.declaredEnd(declaration.event.reason) == 3)
            #expect(try await store.auditCount() == 7)
            // Erased entries: in the batch as absent, never in a search.
            let batch = try await store.auditBatch(from: 0, limit: 10)
            #expect(batch.present == [false, false, false, true, true, true, true])
            #expect(batch.starts[3] == 0 && batch.leafHashes == records.flatMap(\.leafHash))
            #expect(try await store.auditRecords(matching: AuditFilter(), limit: 10).map(\.seq) == [3, 4, 5, 6])
            #expect(try await store.auditEntries(from: 0, limit: 10).map(\.seq) == [3, 4, 5, 6])
            // Nothing older left: no second declaration.
            let again = try await store.eraseAuditContent(before: start.addingTimeInterval(10 * day)) { _ in
                Issue.record("nothing was erased, nothing is declared")
                return Fixture.event("")
            }
            #expect(again == AuditErasureResult(erased: 0, end: 3))
            // Everything older than the far future: the whole log, then its declaration after it.
            let all = try await store.eraseAuditContent(before: start.addingTimeInterval(100 * day)) { _ in
                Fixture.event("all", at: start.addingTimeInterval(100 * day), action: .purge)
            }
            #expect(all == AuditErasureResult(erased: 4, end: 7))
            try await Fixture.expectContiguous(store, count: 8)
        }
    }

    @Test(arguments: StoreKind.allCases) func checkpoints(kind: StoreKind) async throws {
        try await kind.withStore { store in
            #expect(try await store.latestAuditCheckpoint() == nil)
            #expect(try await store.auditCheckpoints().isEmpty)
            let now = Date()
            try await store.insertAuditCheckpoint(size: 3, note: "three", at: now)
            try await store.insertAuditCheckpoint(size: 1, note: "one", at: now)
            try await store.insertAuditCheckpoint(size: 3, note: "three again", at: now)
            try await store.insertAuditCheckpoint(size: .max, note: "clamped", at: now)
            #expect(try await store.auditCheckpoints() == ["one", "three", "clamped"])
            #expect(try await store.latestAuditCheckpoint() == "clamped")
        }
    }

    // MARK: Chat

    /// Every copy of a message under one seq; each recipient reads only its
    /// own copies; the same sender key's clientMsgId is stored once.
    @Test(arguments: StoreKind.allCases) func chatCopiesPerRecipient(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let now = Date(timeIntervalSince1970: 1_800_000_000.25)
            let id = try await Fixture.consultation(in: store, now: now, lifetime: 60)
            let sender = Fixture.sender
            // Copies in the envelope's order, not the keys' order.
            let keys = [Fixture.keyC, Fixture.keyA, Fixture.keyB]
            let first = try await store.appendChat(Fixture.message("m-1", to: keys), consultation: id, sender: sender, at: now)
            #expect(!first.duplicate && first.copies.map(\.seq) == [0, 0, 0])
            #expect(first.copies.map(\.copy.recipientKeyId) == keys)
            let again = try await store.appendChat(
                Fixture.message("m-1", to: keys), consultation: id, sender: sender, at: now.addingTimeInterval(5))
            #expect(again.duplicate && again.copies == first.copies)
            // The same clientMsgId from another key is another message.
            let other = try await store.appendChat(
                Fixture.message("m-1", from: Fixture.keyB, to: [Fixture.keyA]), consultation: id, sender: sender, at: now)
            #expect(!other.duplicate && other.copies.map(\.seq) == [1])
            let second = try await store.appendChat(Fixture.message("m-2", to: [Fixture.keyA, Fixture.keyB]), consultation: id, sender: sender, at: now)
            #expect(second.copies.first?.seq == 2)
            let forC = try await store.chatHistory(consultation: id, recipientKeyId: Fixture.keyC, afterSeq: nil, limit: 10)
            #expect(forC.map(\.copy.ciphertext) == ["c-m-1-\(Fixture.keyC)"])
            #expect(forC.first == first.copies.first)
            #expect(forC.first?.from == sender.participant && forC.first?.senderRole == .deltaker && forC.first?.storedAt == now)
            let forB = try await store.chatHistory(consultation: id, recipientKeyId: Fixture.keyB, afterSeq: 0, limit: 10)
            #expect(forB.map(\.clientMsgId) == ["m-2"])
            let totals = try await store.chatTotals(consultation: id)
            #expect(totals.messages == 3)
            let bytes = (first.copies + other.copies + second.copies).reduce(0) { $0 + $1.copy.ciphertext.utf8.count + $1.copy.nonce.utf8.count }
            #expect(totals.bytes == bytes)
            #expect(try await store.chatTotals(consultation: .random()) == (0, 0))
            // Another consultation numbers its own messages from 0.
            let elsewhere = try await Fixture.consultation(in: store, now: now)
            #expect(try await store.appendChat(Fixture.message("m-1", to: keys), consultation: elsewhere, sender: sender, at: now).copies.first?.seq == 0)
            // No such consultation: refused, as a broken reference.
            let orphan = await #expect(throws: StorageError.self) {
                try await store.appendChat(Fixture.message("m-9", to: keys), consultation: .random(), sender: sender, at: now)
            }
            #expect(orphan?.code == .conflict)
        }
    }

    /// A resend arriving beside the first is stored once; different messages
    /// sent at once get seqs 0..<n, each one's copies under one.
    @Test(arguments: StoreKind.allCases) func concurrentChat(kind: StoreKind) async throws {
        try await kind.withStore { store in
            // Seconds since 1970, as stored: `Date()` would not come back bit for bit.
            let now = Date(timeIntervalSince1970: 1_800_000_000.75)
            let id = try await Fixture.consultation(in: store, now: now)
            let keys = [Fixture.keyA, Fixture.keyB]
            let resends = try await withThrowingTaskGroup(of: (copies: [StoredChat], duplicate: Bool).self) { group in
                for _ in 0..<16 {
                    group.addTask { try await store.appendChat(Fixture.message("same", to: keys), consultation: id, sender: Fixture.sender, at: now) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(resends.filter { !$0.duplicate }.count == 1)
            #expect(resends.allSatisfy { $0.copies == resends[0].copies })
            #expect(resends.first?.copies.map(\.seq) == [0, 0])

            let senders = 24
            let seqs = try await withThrowingTaskGroup(of: [UInt64].self) { group in
                for i in 0..<senders {
                    group.addTask {
                        try await store.appendChat(Fixture.message("m-\(i)", to: keys), consultation: id, sender: Fixture.sender, at: now)
                            .copies.map(\.seq)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(seqs.allSatisfy { $0.count == 2 && $0[0] == $0[1] })
            #expect(seqs.map { $0[0] }.sorted() == (1...UInt64(senders)).map { $0 })
            #expect(try await store.chatTotals(consultation: id).messages == senders + 1)
        }
    }

    @Test(arguments: StoreKind.allCases) func chatHistoryPages(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let now = Date()
            let id = try await Fixture.consultation(in: store, now: now)
            for i in 0..<25 {
                // Every third message is not for B.
                let keys = i % 3 == 2 ? [Fixture.keyA] : [Fixture.keyA, Fixture.keyB]
                _ = try await store.appendChat(Fixture.message("m-\(i)", to: keys), consultation: id, sender: Fixture.sender, at: now)
            }
            var pages: [[UInt64]] = []
            var after: UInt64?
            while true {
                let page = try await store.chatHistory(consultation: id, recipientKeyId: Fixture.keyB, afterSeq: after, limit: 6)
                if page.isEmpty { break }
                pages.append(page.map(\.seq))
                after = page.last?.seq
            }
            let forB = (0..<25).filter { $0 % 3 != 2 }.map(UInt64.init)
            #expect(pages.map(\.count) == [6, 6, 5])
            #expect(pages.flatMap { $0 } == forB)
            #expect(try await store.chatHistory(consultation: id, recipientKeyId: Fixture.keyA, afterSeq: 23, limit: 10).map(\.seq) == [24])
            #expect(try await store.chatHistory(consultation: id, recipientKeyId: Fixture.keyA, afterSeq: .max, limit: 10).isEmpty)
            #expect(try await store.chatHistory(consultation: id, recipientKeyId: Fixture.keyC, afterSeq: nil, limit: 10).isEmpty)
        }
    }

    /// Purging deletes the copies of ended and expired consultations only,
    /// and says how many copies went.
    @Test(arguments: StoreKind.allCases) func purgeChat(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            let ended = try await Fixture.consultation(in: store, now: now, lifetime: 3600)
            let expired = try await Fixture.consultation(in: store, now: now, lifetime: 60)
            let active = try await Fixture.consultation(in: store, now: now, lifetime: 3600)
            let keys = [Fixture.keyA, Fixture.keyB]
            for id in [ended, expired, active] {
                _ = try await store.appendChat(Fixture.message("m-1", to: keys), consultation: id, sender: Fixture.sender, at: now)
                _ = try await store.appendChat(Fixture.message("m-2", to: [Fixture.keyA]), consultation: id, sender: Fixture.sender, at: now)
            }
            #expect(try await store.endConsultation(ended, at: now.addingTimeInterval(10)))
            #expect(try await store.purgeChat(closedBefore: now.addingTimeInterval(10)) == 0)
            #expect(try await store.purgeChat(closedBefore: now.addingTimeInterval(120)) == 6)
            #expect(try await store.chatTotals(consultation: ended) == (0, 0))
            #expect(try await store.chatTotals(consultation: expired) == (0, 0))
            #expect(try await store.chatTotals(consultation: active).messages == 2)
            #expect(try await store.purgeChat(closedBefore: now.addingTimeInterval(120)) == 0)
            #expect(try await store.chatHistory(consultation: active, recipientKeyId: Fixture.keyA, afterSeq: nil, limit: 10).count == 2)
        }
    }
}
