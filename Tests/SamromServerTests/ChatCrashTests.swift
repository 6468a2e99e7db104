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
            let added = try SamromProcess.run(
                ["user", "add", "--username", "kari", "--role", "veileder", "--data-dir", data], input: "kari's password\n")
            #expect(added.status == 0)
            let server = try SamromProcess.start(data)
            defer { if server.process.isRunning { server.process.terminate() } }
            let (cookie, consultation, token) = try await Self.consultation(server)

            let veileder = try await WSTestClient.connect(port: server.port, tls: server.tls, cookie: cookie)
            veileder.send(["type": .string("hello"), "v": .int(1), "consultation": .string(consultation)])
            try await veileder.expect("welcome")
            let deltaker = try await WSTestClient.connect(port: server.port, tls: server.tls)
            deltaker.send(["type": .string("hello"), "v": .int(1), "token": .string(token)])
            let welcome = try await deltaker.expect("welcome")
            try await deltaker.expect("lobby")
            try await veileder.expect("knock")
            veileder.send(["type": .string("admit"), "participant": .string(welcome.object("you")!.string("participant")!)])
            try await deltaker.expect("admitted")

            let id = ConsultationID(rawValue: consultation)
            let vKeys = KeyExchange.KeyPair.generate()
            let dKeys = KeyExchange.KeyPair.generate()
            let senders = [
                (veileder, try ChatCipher(consultation: id, role: .veileder, own: vKeys, peer: dKeys.publicKey), vKeys),
                (deltaker, try ChatCipher(consultation: id, role: .deltaker, own: dKeys, peer: vKeys.publicKey), dKeys),
            ]
            for (socket, _, keys) in senders {
                socket.send(["type": .string("key"), "publicKey": .string(Base64URL.encode(keys.publicKey.bytes))])
            }
            try await deltaker.expect("peer-joined")
            try await Task.sleep(for: .milliseconds(300))

            // Both send as fast as the rate limit allows; the server dies mid-burst.
            let acked = Acks()
            let pid = server.process.processIdentifier
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, (socket, cipher, _)) in senders.enumerated() {
                    group.addTask {
                        for n in 0..<55 {
                            let envelope = try cipher.seal(.init(text: "melding \(n)", sentAt: "2026-11-24T09:30:00.000Z"), clientMsgId: "s\(index)-\(n)")
                            socket.send([
                                "type": .string("chat"), "clientMsgId": .string(envelope.clientMsgId),
                                "senderKeyId": .string(envelope.senderKeyId), "recipientKeyId": .string(envelope.recipientKeyId),
                                "nonce": .string(envelope.nonce), "ciphertext": .string(envelope.ciphertext),
                            ])
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
            server.process.waitUntilExit()
            #expect(server.process.terminationReason == .uncaughtSignal)

            // Read back what is on disk.
            let store = try SQLiteStore(directory: URL(fileURLWithPath: data))
            let stored = try await store.chatHistory(consultation: id, afterSeq: nil, limit: 1000)
            let bySender = Dictionary(uniqueKeysWithValues: stored.map { ($0.envelope.clientMsgId, $0.seq) })
            let acks = acked.all
            #expect(acks.count >= 30)
            for (clientMsgId, seq) in acks {
                #expect(bySender[clientMsgId] == seq, "acked \(clientMsgId) as \(seq) but stored \(String(describing: bySender[clientMsgId]))")
            }
            // Whole messages only, numbered without gaps, and each opens.
            #expect(stored.map(\.seq) == Array(0..<UInt64(stored.count)))
            let veilederCipher = senders[0].1
            for message in stored where message.senderRole == .deltaker {
                #expect(try veilederCipher.open(message.envelope, senderRole: .deltaker).text.hasPrefix("melding "))
            }
            let verify = try SamromProcess.run(["audit", "verify", "--data-dir", data])
            #expect(verify.status == 0, "\(verify.error)")
        }
    }

    /// Logs in and creates a consultation over HTTPS; returns the cookie, id and token.
    static func consultation(_ server: SamromProcess.Server) async throws -> (String, String, String) {
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
