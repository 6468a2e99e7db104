import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SamromCore
import SamromStore
import SamromTestSupport
import Sodium
import Synchronization
import Testing

/// SIGKILL in the middle of a chat burst loses no acknowledged message: the
/// real `samrom serve` process, real sockets, then the data directory is
/// read back after the kill.
@Suite struct ChatCrashTests {
    @Test func everyAcknowledgedMessageSurvivesSIGKILL() async throws {
        try await SamromProcess.withDataDirectory { data in
            let added = try await SamromProcess.run(
                ["user", "add", "--username", "kari", "--role", "veileder", "--data-dir", data], input: "kari's password\n")
            #expect(added.status == 0)
            // Generous: the whole suite runs in parallel on two cores.
            let server = try await SamromProcess.serve(dataDirectory: data, arguments: ["--hello-timeout", "30"])
            defer { server.terminate() }
            let (cookie, consultation, token) = try await Self.consultation(server)

            let v = try await CallParticipant.veileder(port: server.port, tls: server.tls, cookie: cookie, consultation: consultation)
            let d = try await CallParticipant.knock(port: server.port, tls: server.tls, token: token, consultation: consultation)
            try await v.socket.expect("knock", ignoring: ["roster"])
            v.socket.send(["type": .string("admit"), "participant": .string(d.participant)])
            try await d.socket.expect("admitted")
            for person in [v, d] { person.announceKey() }
            for person in [v, d] { try await person.socket.expectRoster([v.participant, d.participant], withKeys: true) }
            let id = ConsultationID(rawValue: consultation)
            let senders = [(v, d), (d, v)]

            // Both send as fast as the rate limit allows; the server dies mid-burst.
            let acked = Acks()
            let pid = server.child.pid
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, (sender, receiver)) in senders.enumerated() {
                    let socket = sender.socket
                    group.addTask {
                        for n in 0..<55 {
                            socket.send(try sender.chatFrame("melding \(n)", id: "s\(index)-\(n)", to: [receiver.keys.publicKey, sender.keys.publicKey]))
                        }
                        // Collect acks until the connection dies.
                        while let message = try? await socket.next(timeout: .seconds(5)) {
                            if message.string("type") == "chat-ack", let clientMsgId = message.string("clientMsgId"),
                                case .int(let seq)? = message["seq"]
                            {
                                acked.record(clientMsgId, UInt64(seq))
                            }
                        }
                    }
                }
                group.addTask {
                    while acked.all.count < 30 { try await Task.sleep(for: .milliseconds(1)) }
                    kill(pid, SIGKILL)
                }
                try await group.waitForAll()
            }
            #expect(await server.child.end() == .signalled(SIGKILL))

            // Read back what is on disk.
            let store = try SQLiteStore(directory: URL(fileURLWithPath: data))
            let forVeileder = try await store.chatHistory(consultation: id, recipientKeyId: v.keyID, afterSeq: nil, limit: 1000)
            let forDeltaker = try await store.chatHistory(consultation: id, recipientKeyId: d.keyID, afterSeq: nil, limit: 1000)
            let acks = acked.all
            #expect(acks.count >= 30)
            // Every message is whole: both its copies are there, under one seq, or neither.
            let seqs = Dictionary(uniqueKeysWithValues: forVeileder.map { ($0.clientMsgId, $0.seq) })
            #expect(seqs == Dictionary(uniqueKeysWithValues: forDeltaker.map { ($0.clientMsgId, $0.seq) }))
            for (clientMsgId, seq) in acks {
                #expect(seqs[clientMsgId] == seq, "acked \(clientMsgId) as \(seq) but stored \(String(describing: seqs[clientMsgId]))")
            }
            // Numbered without gaps, and each copy opens for its recipient.
            #expect(forVeileder.map(\.seq) == Array(0..<UInt64(forVeileder.count)))
            for copy in forVeileder {
                let sender = copy.senderKeyId == d.keyID ? d.keys.publicKey : v.keys.publicKey
                let frame: WSTestClient.Message = [
                    "from": .string(copy.from.rawValue), "senderRole": .string(copy.senderRole.rawValue), "clientMsgId": .string(copy.clientMsgId),
                    "senderKeyId": .string(copy.senderKeyId), "recipientKeyId": .string(copy.copy.recipientKeyId),
                    "nonce": .string(copy.copy.nonce), "ciphertext": .string(copy.copy.ciphertext), "seq": .int(Int64(copy.seq)),
                ]
                #expect(try v.openChat(frame, from: sender).hasPrefix("melding "))
            }
            let verify = try await SamromProcess.run(["audit", "verify", "--data-dir", data])
            #expect(verify.status == 0, "\(verify.error)")
        }
    }

    /// Logs in and creates a consultation over HTTPS; returns the cookie, id and token.
    static func consultation(_ server: SamromProcess.Instance) async throws -> (String, String, String) {
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: server.tls))
        do {
            var login = HTTPClientRequest(url: "https://localhost:\(server.port)/api/session")
            login.method = .POST
            login.body = .bytes(ByteBuffer(string: #"{"username":"kari","password":"kari's password"}"#))
            let response = try await client.execute(login, timeout: .seconds(30))
            let cookie = String(response.headers.first(name: "Set-Cookie")?.split(separator: ";").first ?? "")
            var create = HTTPClientRequest(url: "https://localhost:\(server.port)/api/consultations")
            create.method = .POST
            create.headers.add(name: "Cookie", value: cookie)
            create.body = .bytes(ByteBuffer(string: "{}"))
            let created = try await client.execute(create, timeout: .seconds(30))
            let body = try await created.body.collect(upTo: 1 << 16)
            let object = try JSONDecoder().decode([String: String?].self, from: Data(body.readableBytesView))
            let id = try #require(object["id"] ?? nil)
            let token = try #require((object["joinUrl"] ?? nil)?.split(separator: "#").last.map(String.init))
            try await client.shutdown()
            return (cookie, id, token)
        } catch {
            try await client.shutdown()
            throw error
        }
    }
}

/// Acknowledgements seen by concurrent readers.
final class Acks: Sendable {
    private let storage = Mutex<[String: UInt64]>([:])
    func record(_ clientMsgId: String, _ seq: UInt64) { storage.withLock { $0[clientMsgId] = seq } }
    var all: [String: UInt64] { storage.withLock { $0 } }
}
