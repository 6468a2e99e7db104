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

    @Test func errorCodesMapToCloseCodes() {
        #expect(SignalError(.badJSON, "").closeCode == nil)
        #expect(SignalError(.rateLimited, "").closeCode == nil)
        #expect(SignalError(.invalidToken, "").closeCode == .policyViolation)
        #expect(SignalError(.helloTimeout, "").closeCode == .policyViolation)
        #expect(SignalError(.internalError, "").closeCode == .internalError)
    }
}
