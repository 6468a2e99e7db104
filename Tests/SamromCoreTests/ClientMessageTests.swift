import Foundation
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
        for frame in taken {
            let fast = try #require(RelayFrame.decode(Data(frame.utf8)), "\(frame)")
            #expect(fast == (try ClientMessage.decodeFieldByField(Data(frame.utf8))), "\(frame)")
            #expect(try ClientMessage.decode(frame) == fast)
        }
        for frame in refused {
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

    @Test func errorCodesMapToCloseCodes() {
        #expect(SignalError(.badJSON, "").closeCode == nil)
        #expect(SignalError(.rateLimited, "").closeCode == nil)
        #expect(SignalError(.invalidToken, "").closeCode == .policyViolation)
        #expect(SignalError(.helloTimeout, "").closeCode == .policyViolation)
        #expect(SignalError(.internalError, "").closeCode == .internalError)
    }
}
