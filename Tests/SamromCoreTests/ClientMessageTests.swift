import Foundation
import Sodium
import Testing
@testable import SamromCore

@Suite struct ClientMessageTests {
    let token = JoinToken.random().encoded

    func code(_ text: String) -> SignalError.Code? {
        do {
            _ = try ClientMessage.decode(text)
            return nil
        } catch {
            return error.code
        }
    }

    @Test func decodesEveryKnownMessage() throws {
        #expect(try ClientMessage.decode(#"{"type":"hello","v":1,"token":"\#(token)"}"#) == .hello(.token(JoinToken(encoded: token))))
        #expect(try ClientMessage.decode(#"{"type":"hello","v":1,"consultation":"AAAAAAAAAAAAAAAAAAAAAA"}"#)
            == .hello(.consultation(ConsultationID(rawValue: "AAAAAAAAAAAAAAAAAAAAAA"))))
        #expect(try ClientMessage.decode(#"{"type":"admit","participant":"p-1"}"#) == .admit(ParticipantID(rawValue: "p-1")))
        #expect(try ClientMessage.decode(#"{"type":"offer","sdp":"v=0\r\n"}"#) == .offer(sdp: "v=0\r\n"))
        #expect(try ClientMessage.decode(#"{"type":"ice","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}}"#)
            == .ice(IceCandidate(candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", sdpMid: "0", sdpMLineIndex: 0)))
        #expect(try ClientMessage.decode(#"{"type":"ping","extra":"ignored"}"#) == .ping)
        #expect(try ClientMessage.decode(#"{"type":"media","video":false}"#) == .media(video: false))
        #expect(try ClientMessage.decode(#"{"type":"media","video":true}"#) == .media(video: true))
        for simple in ["leave", "end"] {
            #expect(try ClientMessage.decode(#"{"type":"\#(simple)"}"#) != .ping)
        }
    }

    @Test func refusesMalformedFramesWithStableCodes() {
        #expect(code("not json") == .badJSON)
        #expect(code("[1,2]") == .badJSON)
        #expect(code(#"{"type":"hello""#) == .badJSON)
        #expect(code("") == .badJSON)
        #expect(code(#"{"no":"type"}"#) == .badField)
        #expect(code(#"{"type":7}"#) == .badField)
        #expect(code(#"{"type":"dance"}"#) == .unknownType)
        #expect(code(#"{"type":"hello","v":2,"token":"\#(token)"}"#) == .badField)
        #expect(code(#"{"type":"hello","v":true,"token":"\#(token)"}"#) == .badField)
        #expect(code(#"{"type":"hello","v":1}"#) == .badField)
        #expect(code(#"{"type":"hello","v":1,"token":"\#(token)","resume":"\#(token)"}"#) == .badField)
        #expect(code(#"{"type":"hello","v":1,"token":"short"}"#) == .invalidToken)
        #expect(code(#"{"type":"hello","v":1,"consultation":"../../etc"}"#) == .badField)
        #expect(code(#"{"type":"admit"}"#) == .badField)
        #expect(code(#"{"type":"admit","participant":5}"#) == .badField)
        #expect(code(#"{"type":"offer","sdp":"hello"}"#) == .badField)
        #expect(code(#"{"type":"offer"}"#) == .badField)
        #expect(code(#"{"type":"media"}"#) == .badField)
        #expect(code(#"{"type":"media","video":"off"}"#) == .badField)
        #expect(code(#"{"type":"media","video":0}"#) == .badField)
        #expect(code(#"{"type":"ice","candidate":"x"}"#) == .badField)
        #expect(code(#"{"type":"ice","candidate":{"candidate":"candidate:x","sdpMLineIndex":"0"}}"#) == .badField)
        #expect(code(#"{"type":"ice","candidate":{"candidate":"nope"}}"#) == .badField)
        let bigSDP = "v=0" + String(repeating: "a", count: ClientMessage.maxSDPBytes)
        #expect(code(#"{"type":"offer","sdp":"\#(bigSDP)"}"#) == .tooLarge)
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(code(deep) == .badJSON)
    }

    /// Offer, answer and ICE take a typed fast path (`RelayFrame`); every
    /// frame it accepts must mean exactly what the field-by-field path says,
    /// and what it refuses goes that path, so the error answers stay the same.
    @Test func theFastWayAgreesWithTheLongWay() throws {
        let candidate = "candidate:842163049 1 udp 1677729535 192.0.2.7 46154 typ srflx raddr 0.0.0.0 rport 0 generation 0"
        let taken = [
            #"{"type":"offer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}"#,
            #"{"sdp":"v=0\r\n","type":"answer","extra":[1,{"a":null}]}"#,
            #"{"type":"ice","candidate":{"candidate":"\#(candidate)","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"Xy9k"}}"#,
            #"{"type":"ice","candidate":{"candidate":"","sdpMid":null,"sdpMLineIndex":null}}"#,
            #"{"type":"ice","candidate":{"candidate":"candidate:1","sdpMLineIndex":1023},"from":"p-spoofed"}"#,
            #"{"type":"offer","sdp":"v=0 \u00e6\u00f8\u00e5 \ud83d\ude00 \"quoted\" \\ /"}"#,
        ]
        let refused = [
            #"{"type":"offer","sdp":"hello"}"#, #"{"type":"offer"}"#, #"{"type":"offer","sdp":5}"#,
            #"{"type":"answer","sdp":null}"#, #"{"type":"ice","candidate":"x"}"#, #"{"type":"ice"}"#,
            #"{"type":"ice","candidate":{"candidate":"candidate:x","sdpMLineIndex":"0"}}"#,
            #"{"type":"ice","candidate":{"candidate":"candidate:x","sdpMLineIndex":1.5}}"#,
            #"{"type":"ice","candidate":{"candidate":"candidate:x","sdpMLineIndex":1024}}"#,
            #"{"type":"ice","candidate":{"candidate":"nope"}}"#,
            #"{"type":"ice","candidate":{"candidate":"candidate:x","sdpMid":"\#(String(repeating: "m", count: 65))"}}"#,
            #"{"type":"offer","sdp":"v=0\#(String(repeating: "a", count: ClientMessage.maxSDPBytes))"}"#,
            #"{"type":"ping"}"#, #"{"type":"hello","v":1}"#, "[1]", "not json", #"{"type":"offer","sdp":"v=0""#,
        ]
        let keyID = "KLqljBKXTshj1Sut3V6mog"
        let nonce = Base64URL.encode([UInt8](repeating: 7, count: 24))
        let ciphertext = Base64URL.encode([UInt8](repeating: 9, count: 16 + 256))
        func chat(_ fields: String) -> String {
            #"{"type":"chat",\#(fields)"senderKeyId":"\#(keyID)","recipientKeyId":"\#(keyID)","nonce":"\#(nonce)"}"#
        }
        let chats = [
            chat(#""clientMsgId":"m-0001","ciphertext":"\#(ciphertext)","#),
            chat(#""clientMsgId":"m_2","ciphertext":"\#(ciphertext)","seq":99,"from":"p-spoofed","#),
        ]
        let badChats = [
            chat(#""clientMsgId":"m 1","ciphertext":"\#(ciphertext)","#),
            chat(#""clientMsgId":"m-1","ciphertext":"\#(Base64URL.encode([UInt8](repeating: 9, count: 16 + 100)))","#),
            chat(#""clientMsgId":"m-1","#), chat(#""clientMsgId":7,"ciphertext":"\#(ciphertext)","#),
            #"{"type":"chat","clientMsgId":"m-1","ciphertext":"\#(ciphertext)","senderKeyId":"short","recipientKeyId":"\#(keyID)","nonce":"\#(nonce)"}"#,
        ]
        for frame in taken + chats {
            let fast = try #require(RelayFrame.decode(Data(frame.utf8)), "\(frame)")
            #expect(fast == (try ClientMessage.decodeFieldByField(Data(frame.utf8))), "\(frame)")
            #expect(try ClientMessage.decode(frame) == fast)
        }
        for frame in refused + badChats {
            #expect(RelayFrame.decode(Data(frame.utf8)) == nil, "\(frame)")
        }
    }

    @Test func relayedFramesAreEncodedWithSortedKeys() {
        let from = ParticipantID(rawValue: "p-1")
        #expect(ServerMessage.offer(from: from, sdp: "v=0\r\n/\"").encoded() == #"{"from":"p-1","sdp":"v=0\r\n/\"","type":"offer"}"#)
        #expect(ServerMessage.answer(from: from, sdp: "v=0").encoded() == #"{"from":"p-1","sdp":"v=0","type":"answer"}"#)
        let ice = IceCandidate(candidate: "candidate:1", sdpMid: "0", sdpMLineIndex: 0, usernameFragment: nil)
        #expect(ServerMessage.ice(from: from, candidate: ice).encoded()
            == #"{"candidate":{"candidate":"candidate:1","sdpMLineIndex":0,"sdpMid":"0"},"from":"p-1","type":"ice"}"#)
    }

    @Test func chatAndAcksAreEncodedAsEveryOtherMessage() throws {
        let envelope = ChatEnvelope(
            clientMsgId: "m-1", senderKeyId: "KLqljBKXTshj1Sut3V6mog", recipientKeyId: "CMJeJrqz_SgUHVWZmhVDuA",
            nonce: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX", ciphertext: "wg2E67eG")
        let stored = StoredChat(envelope: envelope, seq: 42, senderRole: .deltaker, storedAt: Date(timeIntervalSince1970: 1_764_000_000.125))
        var object = stored.json
        object["type"] = .string("chat")
        object["from"] = .string("p-1")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let expected = String(decoding: try encoder.encode(JSONValue.object(object)), as: UTF8.self)
        #expect(ServerMessage.chat(from: ParticipantID(rawValue: "p-1"), stored).encoded() == expected)
        #expect(expected.contains(#""storedAt":"2025-11-24T16:00:00.125Z""#))
        #expect(ServerMessage.chatAck(clientMsgId: "m-1", seq: 42).encoded() == #"{"clientMsgId":"m-1","seq":42,"type":"chat-ack"}"#)
    }

    @Test func errorCodesMapToCloseCodes() {
        #expect(SignalError(.badJSON, "").closeCode == nil)
        #expect(SignalError(.rateLimited, "").closeCode == nil)
        #expect(SignalError(.invalidToken, "").closeCode == .policyViolation)
        #expect(SignalError(.helloTimeout, "").closeCode == .policyViolation)
        #expect(SignalError(.internalError, "").closeCode == .internalError)
    }
}
