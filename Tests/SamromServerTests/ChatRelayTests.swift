import Foundation
import SamromCore
import SamromServer
import SamromStore
import SamromTestSupport
import Sodium
import Testing

/// The end-to-end chat for several people: one sealed copy per recipient key,
/// each recipient gets only its own, acknowledged once every copy is durable,
/// never stored twice, and history holds only the asker's own copies.
@Suite struct ChatRelayTests {
    typealias Setup = SignallingFlowTests.Setup

    /// Veileder, deltaker and tolk in one call, each with a key announced.
    static func three(_ server: LiveServer) async throws -> (Setup, CallParticipant, CallParticipant, CallParticipant) {
        let s = try await SignallingFlowTests.setUp(server)
        let d = try await SignallingFlowTests.join(s, token: s.token, call: [s.veileder])
        let t = try await SignallingFlowTests.join(s, token: try await SignallingFlowTests.link(s, role: "tolk"), call: [s.veileder, d])
        return (s, s.veileder, d, t)
    }

    @Test func eachRecipientGetsOnlyItsOwnCopyAndAResendIsNotStoredTwice() async throws {
        try await withServer { server in
            let (_, v, d, t) = try await Self.three(server)
            let frame = try d.chatFrame("Hei alle sammen ✓", id: "d-1", to: [v.keys.publicKey, t.keys.publicKey, d.keys.publicKey])
            d.socket.send(frame)
            let ack = try await d.socket.expect("chat-ack")
            #expect(ack.string("clientMsgId") == "d-1" && ack["seq"] == .int(0))
            for person in [v, t] {
                let copy = try await person.socket.expect("chat")
                #expect(copy.string("from") == d.participant && copy.string("senderRole") == "deltaker")
                #expect(copy.string("recipientKeyId") == person.keyID && copy["seq"] == .int(0))
                #expect(try person.openChat(copy, from: d.keys.publicKey) == "Hei alle sammen ✓")
            }
            // The sender gets no copy live (its own copy is for its history).
            try await d.socket.expectSilence()
            // The same message again: acknowledged with the same seq, relayed to nobody.
            d.socket.send(frame)
            #expect(try await d.socket.expect("chat-ack")["seq"] == .int(0))
            try await v.socket.expectSilence()
            try await t.socket.expectSilence()
            // The next one is numbered on.
            v.socket.send(try v.chatFrame("Velkommen", id: "v-1", to: [d.keys.publicKey, v.keys.publicKey]))
            #expect(try await v.socket.expect("chat-ack")["seq"] == .int(1))
            #expect(try d.openChat(try await d.socket.expect("chat"), from: v.keys.publicKey) == "Velkommen")
            // Not addressed to the tolk: the tolk gets nothing.
            try await t.socket.expectSilence()

            // History: each reads only the copies for its key; the sender its own message back.
            d.socket.send(["type": .string("history")])
            let history = try await d.socket.expect("history")
            let messages = (history.array("messages") ?? []).compactMap { if case .object(let m) = $0 { m } else { nil } }
            #expect(messages.map { $0.string("clientMsgId") } == ["d-1", "v-1"])
            #expect(try d.openChat(messages[0], from: d.keys.publicKey) == "Hei alle sammen ✓")
            #expect(try d.openChat(messages[1], from: v.keys.publicKey) == "Velkommen")
            #expect(history["more"] == .bool(false))
            t.socket.send(["type": .string("history"), "afterSeq": .int(0)])
            #expect(try await t.socket.expect("history").array("messages") == [])
            // Every history read is logged.
            #expect(try await server.auditEntries().filter { $0.event.action == .chatHistory }.count == 2)
        }
    }

    /// Issue 13, 5: a consultation's stored chat is capped, in messages and
    /// in bytes, with a clear error; what was stored stays.
    @Test func aConsultationsChatIsCappedWithAClearError() async throws {
        try await withServer({ $0.chatLimits = .init(messages: 3, bytes: 1 << 20) }) { server in
            let (_, v, d, _) = try await Self.three(server)
            for i in 0..<3 {
                d.socket.send(try d.chatFrame("melding \(i)", id: "d-\(i)", to: [v.keys.publicKey, d.keys.publicKey]))
                #expect(try await d.socket.expect("chat-ack")["seq"] == .int(Int64(i)))
                // A resend stores nothing new, so it does not count.
                if i < 2 {
                    d.socket.send(try d.chatFrame("melding \(i)", id: "d-\(i)", to: [v.keys.publicKey, d.keys.publicKey]))
                    #expect(try await d.socket.expect("chat-ack")["seq"] == .int(Int64(i)))
                }
            }
            d.socket.send(try d.chatFrame("en for mye", id: "d-3", to: [v.keys.publicKey, d.keys.publicKey]))
            try await d.socket.expectError("chat-full")
            // The connection lives on, and the history is whole.
            d.socket.send(["type": .string("history")])
            #expect(try await d.socket.expect("history").array("messages")?.count == 3)
        }
        // And in bytes: copies of about 16 KiB each, 100 KiB allowed.
        try await withServer({ $0.chatLimits = .init(messages: 1000, bytes: 100 << 10) }) { server in
            let (_, v, d, _) = try await Self.three(server)
            let long = String(repeating: "x", count: 12_000)
            var acked = 0
            for i in 0..<10 {
                d.socket.send(try d.chatFrame(long, id: "big-\(i)", to: [v.keys.publicKey, d.keys.publicKey]))
                let reply = try await d.socket.next()
                if reply.string("type") == "chat-ack" { acked += 1 } else {
                    #expect(reply.string("code") == "chat-full")
                    break
                }
            }
            #expect(acked == 3)
        }
    }

    /// Issue 13, 5: a history page is bounded in bytes as well as in count.
    @Test func aHistoryPageIsBoundedInBytes() async throws {
        try await withServer({ $0.maxOutboxBytes = 256 << 10 }) { server in
            let (_, v, d, _) = try await Self.three(server)
            let long = String(repeating: "y", count: 12_000)
            for i in 0..<8 {
                d.socket.send(try d.chatFrame(long, id: "h-\(i)", to: [v.keys.publicKey, d.keys.publicKey]))
                _ = try await d.socket.expect("chat-ack")
            }
            // A quarter of the outbox (64 KiB) holds three of these copies.
            d.socket.send(["type": .string("history"), "limit": .int(200)])
            let page = try await d.socket.expect("history")
            #expect(page.array("messages")?.count == 3)
            #expect(page["more"] == .bool(true))
        }
    }

    @Test func someoneWhoJoinsLaterHasNoCopyOfWhatWasSaidBefore() async throws {
        try await withServer { server in
            let s = try await SignallingFlowTests.setUp(server)
            let v = s.veileder
            let d = try await SignallingFlowTests.join(s, token: s.token, call: [v])
            d.socket.send(try d.chatFrame("Før tolken kom", id: "d-1", to: [v.keys.publicKey, d.keys.publicKey]))
            try await d.socket.expect("chat-ack")
            try await v.socket.expect("chat")
            let t = try await SignallingFlowTests.join(s, token: try await SignallingFlowTests.link(s, role: "tolk"), call: [v, d])
            t.socket.send(["type": .string("history")])
            #expect(try await t.socket.expect("history").array("messages") == [])
            // From now on the tolk gets its copy.
            d.socket.send(try d.chatFrame("Etter", id: "d-2", to: [v.keys.publicKey, t.keys.publicKey, d.keys.publicKey]))
            try await d.socket.expect("chat-ack")
            #expect(try t.openChat(try await t.socket.expect("chat"), from: d.keys.publicKey) == "Etter")
        }
    }

    @Test func chatIsRefusedOutsideTheCallAndForMalformedOrMisaddressedMessages() async throws {
        try await withServer { server in
            let (s, d, waiting) = try await SignallingFlowTests.callWithOneWaiting(server)
            let v = s.veileder

            // From the lobby: not yet.
            waiting.socket.send(try waiting.chatFrame("hei", id: "w-1", to: [v.keys.publicKey]))
            try await waiting.socket.expectError("not-admitted")
            // A copy for a key that is not in this call.
            d.socket.send(try d.chatFrame("hei", id: "d-1", to: [v.keys.publicKey, KeyExchange.KeyPair.generate().publicKey]))
            try await d.socket.expectError("not-in-call")
            // Under someone else's key id.
            var forged = try d.chatFrame("hei", id: "d-2", to: [v.keys.publicKey])
            forged["senderKeyId"] = .string(v.keyID)
            d.socket.send(forged)
            try await d.socket.expectError("bad-field")
            // Malformed: no copies, a ciphertext that is not a padded seal, a bad id.
            var empty = try d.chatFrame("hei", id: "d-3", to: [v.keys.publicKey])
            empty["copies"] = .array([])
            d.socket.send(empty)
            try await d.socket.expectError("bad-field")
            d.socket.send(#"{"type":"chat","clientMsgId":"d-4","senderKeyId":"\#(d.keyID)","copies":[{"recipientKeyId":"\#(v.keyID)","nonce":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","ciphertext":"AAAA"}]}"#)
            try await d.socket.expectError("bad-field")
            d.socket.send(try d.chatFrame("hei", id: "not valid!", to: [v.keys.publicKey]))
            try await d.socket.expectError("bad-field")
            // None of it was stored or relayed, and the connection lives on.
            try await v.socket.expectSilence()
            d.socket.send(["type": .string("history")])
            #expect(try await d.socket.expect("history").array("messages") == [])
            v.socket.send(["type": .string("history")])
            #expect(try await v.socket.expect("history").array("messages") == [])
        }
    }

    @Test func chatIsDeletedAfterRetentionOnceTheConsultationIsClosed() async throws {
        let clock = TestClock()
        try await withServer(clock: clock) { server in
            let s = try await SignallingFlowTests.setUp(server)
            let v = s.veileder
            let d = try await SignallingFlowTests.join(s, token: s.token, call: [v])
            for i in 0..<3 {
                d.socket.send(try d.chatFrame("m\(i)", id: "d-\(i)", to: [v.keys.publicKey, d.keys.publicKey]))
                try await d.socket.expect("chat-ack")
            }
            let store = server.app.store
            let consultation = ConsultationID(rawValue: s.consultation)
            // An open consultation keeps its thread (its link lives 14 days).
            clock.advance(by: 10 * 86_400)
            var result = try await Retention.run(store: store, auditor: server.app.auditor, configuration: server.app.configuration, clock: server.app.clock)
            #expect(result.chatCopiesDeleted == 0)
            // Ended: kept for the retention period, then gone.
            _ = try await store.endConsultation(consultation, at: clock.now)
            clock.advance(by: 29 * 86_400)
            result = try await Retention.run(store: store, auditor: server.app.auditor, configuration: server.app.configuration, clock: server.app.clock)
            #expect(result.chatCopiesDeleted == 0)
            clock.advance(by: 2 * 86_400)
            result = try await Retention.run(store: store, auditor: server.app.auditor, configuration: server.app.configuration, clock: server.app.clock)
            #expect(result.chatCopiesDeleted == 6)
            #expect(try await store.chatHistory(consultation: consultation, recipientKeyId: v.keyID, afterSeq: nil, limit: 10).isEmpty)
            let purge = try await server.auditEntries().last { $0.event.action == .purge }
            #expect(purge?.event.reason.contains("6 sealed chat copies") == true)
        }
    }
}
