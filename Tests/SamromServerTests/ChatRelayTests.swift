import Foundation
import NIOWebSocket
import SamromCore
import SamromServer
import SamromStore
import Sodium
import SamromTestSupport
import Testing

/// The end-to-end chat relay over real TLS WebSockets, with messages sealed
/// and opened for real by `ChatCipher` on both ends: the server only ever
/// sees envelopes.
@Suite struct ChatRelayTests {
    typealias Flow = SignallingFlowTests

    /// A veileder and an admitted deltaker, each with a chat key pair.
    struct Call {
        let s: Flow.Setup
        let deltaker: WSTestClient
        let deltakerID: String
        let veilederKeys = KeyExchange.KeyPair.generate()
        let deltakerKeys = KeyExchange.KeyPair.generate()
        var consultation: ConsultationID { ConsultationID(rawValue: s.consultation) }

        func cipher(_ role: ParticipantRole) throws -> ChatCipher {
            role == .veileder
                ? try ChatCipher(consultation: consultation, role: .veileder, own: veilederKeys, peer: deltakerKeys.publicKey)
                : try ChatCipher(consultation: consultation, role: .deltaker, own: deltakerKeys, peer: veilederKeys.publicKey)
        }
    }

    static func call(_ server: LiveServer) async throws -> Call {
        let s = try await Flow.setUp(server)
        let (deltaker, id) = try await Flow.admitted(server, s)
        return Call(s: s, deltaker: deltaker, deltakerID: id)
    }

    static func key(_ pair: KeyExchange.KeyPair) -> [String: JSONValue] {
        ["type": .string("key"), "publicKey": .string(Base64URL.encode(pair.publicKey.bytes))]
    }

    static func chat(_ envelope: ChatEnvelope) -> [String: JSONValue] {
        [
            "type": .string("chat"), "clientMsgId": .string(envelope.clientMsgId), "senderKeyId": .string(envelope.senderKeyId),
            "recipientKeyId": .string(envelope.recipientKeyId), "nonce": .string(envelope.nonce),
            "ciphertext": .string(envelope.ciphertext),
        ]
    }

    static func envelope(_ message: [String: JSONValue]) throws -> ChatEnvelope {
        ChatEnvelope(
            clientMsgId: try #require(message.string("clientMsgId")), senderKeyId: try #require(message.string("senderKeyId")),
            recipientKeyId: try #require(message.string("recipientKeyId")), nonce: try #require(message.string("nonce")),
            ciphertext: try #require(message.string("ciphertext")))
    }

    static func exchangeKeys(_ call: Call) async throws {
        call.s.veileder.send(Self.key(call.veilederKeys))
        call.deltaker.send(Self.key(call.deltakerKeys))
        let toDeltaker = try await call.deltaker.expect("key")
        #expect(toDeltaker.string("publicKey") == Base64URL.encode(call.veilederKeys.publicKey.bytes))
        #expect(toDeltaker.string("role") == "veileder")
        #expect(toDeltaker["changed"] == .bool(false))
        let toVeileder = try await call.s.veileder.expect("key")
        #expect(toVeileder.string("keyId") == ChatKey.keyID(call.deltakerKeys.publicKey))
        #expect(toVeileder.string("from") == call.deltakerID)
    }

    @Test func sealedMessagesTravelBothWaysAreAckedAndKeptInHistory() async throws {
        try await withServer { server in
            let call = try await Self.call(server)
            try await Self.exchangeKeys(call)
            let marker = "HEMMELIG-MARKØR-\(UUID().uuidString)"
            let sealed = try call.cipher(.deltaker).seal(.init(text: marker, sentAt: "2026-11-24T09:30:00.000Z"), clientMsgId: "d-1")
            call.deltaker.send(Self.chat(sealed))
            let ack = try await call.deltaker.expect("chat-ack")
            #expect(ack.string("clientMsgId") == "d-1")
            #expect(ack["seq"] == .int(0))
            let relayed = try await call.s.veileder.expect("chat")
            #expect(relayed.string("from") == call.deltakerID)
            #expect(relayed.string("senderRole") == "deltaker")
            #expect(relayed["seq"] == .int(0))
            #expect(relayed.string("storedAt") != nil)
            #expect(try call.cipher(.veileder).open(try Self.envelope(relayed), senderRole: .deltaker).text == marker)

            let reply = try call.cipher(.veileder).seal(.init(text: "Takk, vi sees!", sentAt: "2026-11-24T09:31:00.000Z"), clientMsgId: "v-1")
            call.s.veileder.send(Self.chat(reply))
            #expect(try await call.s.veileder.expect("chat-ack")["seq"] == .int(1))
            let got = try await call.deltaker.expect("chat")
            #expect(try call.cipher(.deltaker).open(try Self.envelope(got), senderRole: .veileder).text == "Takk, vi sees!")

            // The same clientMsgId again: the same seq, nothing new stored or relayed.
            call.deltaker.send(Self.chat(sealed))
            #expect(try await call.deltaker.expect("chat-ack")["seq"] == .int(0))
            try await call.s.veileder.expectSilence()

            call.deltaker.send(["type": .string("history")])
            let history = try await call.deltaker.expect("history")
            #expect(history["more"] == .bool(false))
            guard case .array(let messages)? = history["messages"] else { Issue.record("no messages"); return }
            #expect(messages.count == 2)
            call.deltaker.send(["type": .string("history"), "afterSeq": .int(0), "limit": .int(1)])
            let page = try await call.deltaker.expect("history")
            guard case .array(let one)? = page["messages"], case .object(let first)? = one.first else { Issue.record("no page"); return }
            #expect(first["seq"] == .int(1))
            #expect(try call.cipher(.deltaker).open(try Self.envelope(first), senderRole: .veileder).text == "Takk, vi sees!")

            // Nothing of the plaintext ever reaches the data directory (database and WAL).
            #expect(!(try dataDirectoryContains(server, marker)))
            #expect(!(try dataDirectoryContains(server, "Takk, vi sees!")))
            // Key announcements and history reads are in the audit log, without content.
            let actions = try await server.auditEntries().map(\.event.action)
            #expect(actions.filter { $0 == .chatKey }.count == 2)
            #expect(actions.filter { $0 == .chatHistory }.count == 2)
        }
    }

    @Test func aLaterPeerGetsTheKeyAndAKeyChangeIsAnnounced() async throws {
        try await withServer { server in
            let s = try await Flow.setUp(server)
            let veilederKeys = KeyExchange.KeyPair.generate()
            // The deltaker is not there yet: the key is only stored.
            let (waiting, _) = try await Flow.knock(server, token: s.token)
            try await s.veileder.expect("knock")
            s.veileder.send(Self.key(veilederKeys))
            try await waiting.expectSilence()
            let knock = try await Flow.knock(server, token: s.token)
            let id = try #require(knock.1.object("you")?.string("participant"))
            try await s.veileder.expect("knock")
            s.veileder.send(["type": .string("admit"), "participant": .string(id)])
            try await knock.0.expect("admitted")
            try await knock.0.expect("peer-joined")
            let key = try await knock.0.expect("key")
            #expect(key.string("publicKey") == Base64URL.encode(veilederKeys.publicKey.bytes))
            // A new device key is announced as a change.
            s.veileder.send(Self.key(KeyExchange.KeyPair.generate()))
            #expect(try await knock.0.expect("key")["changed"] == .bool(true))
        }
    }

    @Test func chatIsRefusedOutsideTheCallAndForMalformedEnvelopes() async throws {
        try await withServer({ $0.maxMessageBytes = 32 * 1024 }) { server in
            let call = try await Self.call(server)
            let cipher = try call.cipher(.deltaker)
            let sealed = try cipher.seal(.init(text: "hei", sentAt: "2026-11-24T09:30:00.000Z"), clientMsgId: "d-1")

            // Before announcing a key, and with someone else's key id.
            call.deltaker.send(Self.chat(sealed))
            try await call.deltaker.expectError("bad-field")
            call.deltaker.send(Self.key(call.deltakerKeys))
            var forged = Self.chat(sealed)
            forged["senderKeyId"] = .string(ChatKey.keyID(call.veilederKeys.publicKey))
            call.deltaker.send(forged)
            try await call.deltaker.expectError("bad-field")

            // A second browser in the lobby can neither chat, announce a key nor read the thread.
            let (lobby, _) = try await Flow.knock(server, token: call.s.token)
            for message in [Self.chat(sealed), Self.key(KeyExchange.KeyPair.generate()), ["type": .string("history")]] {
                lobby.send(message)
                try await lobby.expectError("not-admitted")
            }

            var bad = Self.chat(sealed)
            bad["nonce"] = .string("short")
            call.deltaker.send(bad)
            try await call.deltaker.expectError("bad-field")
            bad = Self.chat(sealed)
            bad["ciphertext"] = .string(Base64URL.encode(Array(repeating: UInt8(7), count: 16 + 17 * 1024)))
            call.deltaker.send(bad)
            try await call.deltaker.expectError("too-large")
            // Nothing half-written is visible: the thread is still empty, and a good message still works.
            call.deltaker.send(["type": .string("history")])
            #expect(try await call.deltaker.expect("history")["messages"] == .array([]))
            call.deltaker.send(Self.chat(sealed))
            #expect(try await call.deltaker.expect("chat-ack")["seq"] == .int(0))
            // Beyond the frame limit the connection closes with 1009.
            call.deltaker.send(#"{"type":"chat","ciphertext":""# + String(repeating: "A", count: 40 * 1024) + #""}"#)
            #expect(try await call.deltaker.closeCode() == .messageTooLarge)
        }
    }

    @Test func chatIsDeletedAfterRetentionOnceTheConsultationIsClosed() async throws {
        let clock = TestClock()
        try await withServer(clock: clock) { server in
            let call = try await Self.call(server)
            try await Self.exchangeKeys(call)
            for i in 0..<3 {
                call.deltaker.send(Self.chat(try call.cipher(.deltaker).seal(.init(text: "m\(i)", sentAt: "2026-11-24T09:30:00.000Z"), clientMsgId: "d-\(i)")))
                try await call.deltaker.expect("chat-ack")
            }
            let store = server.app.store
            // An open consultation keeps its thread (its link lives 14 days).
            clock.advance(by: 10 * 86_400)
            var result = try await Retention.run(store: store, auditor: server.app.auditor, configuration: server.app.configuration, clock: server.app.clock)
            #expect(result.chatMessagesDeleted == 0)
            // Ended: kept for the retention period, then gone.
            _ = try await store.endConsultation(call.consultation, at: clock.now)
            clock.advance(by: 29 * 86_400)
            result = try await Retention.run(store: store, auditor: server.app.auditor, configuration: server.app.configuration, clock: server.app.clock)
            #expect(result.chatMessagesDeleted == 0)
            clock.advance(by: 2 * 86_400)
            result = try await Retention.run(store: store, auditor: server.app.auditor, configuration: server.app.configuration, clock: server.app.clock)
            #expect(result.chatMessagesDeleted == 3)
            #expect(result.chatKeysDeleted == 2)
            #expect(try await store.chatHistory(consultation: call.consultation, afterSeq: nil, limit: 10).isEmpty)
            let purge = try await server.auditEntries().last { $0.event.action == .purge }
            #expect(purge?.event.reason.contains("3 chat messages") == true)
        }
    }
}
