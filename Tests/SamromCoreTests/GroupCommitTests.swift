import Foundation
import SamromCore
import SamromStore
import Sodium
import Testing

/// Concurrent appends share transactions (group commit) and stay correct:
/// every one gets its own contiguous sequence number and leaf hash, and one
/// that fails rolls back alone.
@Suite struct GroupCommitTests {
    static func store() throws -> (SQLiteStore, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("samrom-group-\(UUID().uuidString)")
        return (try SQLiteStore(directory: directory), directory)
    }

    static func event(_ i: Int) -> AuditEvent {
        AuditEvent(at: Date(), actor: .system, action: .login, outcome: .allowed, reason: "n\(i)", clientIP: nil)
    }

    @Test func concurrentAuditAppendsGetContiguousSequenceNumbers() async throws {
        let (store, directory) = try Self.store()
        defer { try? FileManager.default.removeItem(at: directory) }
        let records = try await withThrowingTaskGroup(of: AuditRecord.self) { group in
            for i in 0..<400 { group.addTask { try await store.appendAudit(Self.event(i)) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(records.map(\.seq)) == Set(0..<400))
        for record in records {
            #expect(record.leafHash == MerkleTree.leafHash(record.canonicalBytes ?? []))
        }
        let stored = try await store.auditRecords(from: 0, limit: 1000)
        #expect(stored.map(\.seq) == Array(0..<400))
        #expect(Set(stored.compactMap { try? $0.entry()?.event.reason }) == Set((0..<400).map { "n\($0)" }))
    }

    @Test func aFailingAppendRollsBackAloneInItsBatch() async throws {
        let (store, directory) = try Self.store()
        defer { try? FileManager.default.removeItem(at: directory) }
        let envelope = ChatEnvelope(
            clientMsgId: "m", senderKeyId: "AAAAAAAAAAAAAAAAAAAAAA",
            copies: [ChatCopy(recipientKeyId: "AAAAAAAAAAAAAAAAAAAAAA", nonce: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", ciphertext: "AA")])
        // Chat for a consultation that does not exist violates a foreign key;
        // the audit appends around it, in the same batches, must all land.
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<100 {
                group.addTask {
                    if i % 10 == 5 {
                        return (try? await store.appendChat(
                            envelope, consultation: ConsultationID(rawValue: "nope\(i)"),
                            sender: Member(participant: ParticipantID(rawValue: "p-1"), role: .deltaker), at: Date())) != nil
                    }
                    return (try? await store.appendAudit(Self.event(i))) != nil
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 90)
        #expect(try await store.auditCount() == 90)
    }
}
