import Foundation
import Sodium
import Testing
@testable import SamromCore

/// `ClientMessage.decode`, the one decoder of protocol v2 frames: every type,
/// and every way a frame can be wrong, with its stable error code.
@Suite struct ClientMessageTests {
    let token = JoinToken.random().encoded
    let resume = ResumeToken.random().encoded
    static let keyID = "KLqljBKXTshj1Sut3V6mog"
    static let otherKeyID = "CMJeJrqz_SgUHVWZmhVDuA"
    static let thirdKeyID = Base64URL.encode([UInt8](repeating: 3, count: 16))
    static let publicKey = "_Dszk2elIl1TqS04AyOv0DXXgXttG-R9lG9rCanL3AY"
    static let nonce = Base64URL.encode([UInt8](repeating: 7, count: 24))
    static let box = Base64URL.encode([UInt8](repeating: 9, count: 16 + 256))
    static let ciphertext = Base64URL.encode([UInt8](repeating: 9, count: 16 + 128))

    func code(_ text: String) -> SignalError.Code? {
        do {
            _ = try ClientMessage.decode(text)
            return nil
        } catch {
            return error.code
        }
    }

    /// A `signal` frame with string fields replaced (or removed, with nil).
    static func signal(_ changes: [String: String?] = [:]) -> String {
        signal(raw: changes.mapValues { $0.map { #""\#($0)""# } })
    }

    /// A `signal` frame with fields replaced by raw JSON (or removed, with nil).
    static func signal(raw changes: [String: String?]) -> String {
        var fields: [String: String] = [
            "to": #""p-ywOc7hDsQ5Fg""#, "senderKeyId": #""\#(keyID)""#, "recipientKeyId": #""\#(otherKeyID)""#, "nonce": #""\#(nonce)""#,
            "box": #""\#(box)""#,
        ]
        for (key, value) in changes { fields[key] = value }
        return #"{"type":"signal","# + fields.keys.sorted().map { #""\#($0)":\#(fields[$0]!)"# }.joined(separator: ",") + "}"
    }

    static func copy(_ recipient: String = otherKeyID, nonce: String = nonce, ciphertext: String = ciphertext) -> String {
        #"{"recipientKeyId":"\#(recipient)","nonce":"\#(nonce)","ciphertext":"\#(ciphertext)"}"#
    }

    static func chat(clientMsgId: String = "m-0001", senderKeyId: String = keyID, copies: [String]) -> String {
        #"{"type":"chat","clientMsgId":"\#(clientMsgId)","senderKeyId":"\#(senderKeyId)","copies":[\#(copies.joined(separator: ","))]}"#
    }

    // MARK: Every type

    @Test func decodesEveryKnownMessage() throws {
        #expect(try ClientMessage.decode(#"{"type":"hello","v":2,"token":"\#(token)"}"#) == .hello(.token(JoinToken(encoded: token))))
        #expect(try ClientMessage.decode(#"{"type":"hello","v":2,"resume":"\#(resume)"}"#) == .hello(.resume(ResumeToken(encoded: resume))))
        #expect(try ClientMessage.decode(#"{"type":"hello","v":2,"consultation":"7f14QGE6RccA1oCVrjP05g"}"#)
            == .hello(.consultation(ConsultationID(rawValue: "7f14QGE6RccA1oCVrjP05g"))))
        #expect(try ClientMessage.decode(#"{"type":"admit","participant":"p-1"}"#) == .admit(ParticipantID(rawValue: "p-1")))
        #expect(try ClientMessage.decode(#"{"type":"admit","participant":"p-1","identification":"id-document"}"#)
            == .admit(ParticipantID(rawValue: "p-1"), .document))
        #expect(throws: SignalError.self) { try ClientMessage.decode(#"{"type":"admit","participant":"p-1","identification":"passport"}"#) }
        #expect(throws: SignalError.self) { try ClientMessage.decode(#"{"type":"admit","participant":"p-1","identification":5}"#) }
        #expect(try ClientMessage.decode(#"{"type":"deny","participant":"p-1"}"#) == .deny(ParticipantID(rawValue: "p-1")))
        // A hold message is trimmed; too long, empty or with control characters it is refused.
        #expect(try ClientMessage.decode(#"{"type":"hold","participant":"p-1","text":" Jeg kommer snart. "}"#)
            == .hold(ParticipantID(rawValue: "p-1"), text: "Jeg kommer snart."))
        for text in ["", "  ", String(repeating: "æ", count: 201), "a\\u0007b", "a\\u200Eb"] {
            #expect(code(#"{"type":"hold","participant":"p-1","text":"\#(text)"}"#) == .badField, "\(text)")
        }
        #expect(code(#"{"type":"hold","participant":"p-1"}"#) == .badField)
        #expect(code(#"{"type":"hold","participant":"p-1","text":"\#(String(repeating: "a", count: 801))"}"#) == .tooLarge)
        #expect(try ClientMessage.decode(#"{"type":"key","publicKey":"\#(Self.publicKey)"}"#)
            == .key(try KeyExchange.PublicKey(Base64URL.decode(Self.publicKey))))
        #expect(try ClientMessage.decode(Self.signal())
            == .signal(
                to: ParticipantID(rawValue: "p-ywOc7hDsQ5Fg"),
                SealedSignal(senderKeyId: Self.keyID, recipientKeyId: Self.otherKeyID, nonce: Self.nonce, box: Self.box)))
        let copies = [Self.copy(), Self.copy(Self.keyID)]
        #expect(try ClientMessage.decode(Self.chat(copies: copies))
            == .chat(ChatEnvelope(
                clientMsgId: "m-0001", senderKeyId: Self.keyID,
                copies: [
                    ChatCopy(recipientKeyId: Self.otherKeyID, nonce: Self.nonce, ciphertext: Self.ciphertext),
                    ChatCopy(recipientKeyId: Self.keyID, nonce: Self.nonce, ciphertext: Self.ciphertext),
                ])))
        #expect(try ClientMessage.decode(#"{"type":"history"}"#) == .history(afterSeq: nil, limit: 50))
        #expect(try ClientMessage.decode(#"{"type":"history","afterSeq":0,"limit":1}"#) == .history(afterSeq: 0, limit: 1))
        #expect(try ClientMessage.decode(#"{"type":"history","afterSeq":41,"limit":200}"#) == .history(afterSeq: 41, limit: 200))
        #expect(try ClientMessage.decode(#"{"type":"leave"}"#) == .leave)
        #expect(try ClientMessage.decode(#"{"type":"end"}"#) == .end)
        #expect(try ClientMessage.decode(#"{"type":"ping"}"#) == .ping)
        // Unknown fields are ignored, wherever they are: a client's own `from` never counts.
        #expect(try ClientMessage.decode(#"{"type":"ping","extra":[1,{"a":null}]}"#) == .ping)
        #expect(try ClientMessage.decode(Self.signal(raw: ["from": #""p-spoofed""#, "seq": "9"])) == (try ClientMessage.decode(Self.signal())))
        // Six copies, one for everyone in a full call, the sender included.
        let six = (0..<6).map { Self.copy(Base64URL.encode([UInt8](repeating: UInt8($0), count: 16))) }
        #expect(throws: Never.self) { try ClientMessage.decode(Self.chat(copies: six)) }
        // The largest box there is: 16 + 191 × 256 bytes.
        let largest = Base64URL.encode([UInt8](repeating: 1, count: 16 + 191 * 256))
        #expect(throws: Never.self) { try ClientMessage.decode(Self.signal(["box": largest])) }
        // Every type the decoder knows is one of these.
        #expect(
            ClientMessage.knownTypes == ["hello", "admit", "deny", "hold", "key", "signal", "chat", "history", "leave", "end", "ping", "call-media"])
    }

    // MARK: The frame

    @Test func badJSONAndNonObjects() {
        for text in ["not json", "", "{", #"{"type":"hello""#, #"{"type":"ping" "x"}"#, "[1,2]", #""ping""#, "5", "null", "true"] {
            #expect(code(text) == .badJSON, "\(text)")
        }
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(code(deep) == .badJSON)
        let deepObject = String(repeating: #"{"a":"#, count: 10_000) + "1" + String(repeating: "}", count: 10_000)
        #expect(code(deepObject) != nil)
    }

    @Test func theTypeItself() {
        #expect(code(#"{"no":"type"}"#) == .badField)
        #expect(code(#"{"type":7}"#) == .badField)
        #expect(code(#"{"type":null}"#) == .badField)
        #expect(code(#"{"type":["ping"]}"#) == .badField)
        #expect(code(#"{"type":"dance"}"#) == .unknownType)
        #expect(code(#"{"type":"PING"}"#) == .unknownType)
        #expect(code(#"{"type":""}"#) == .unknownType)
        #expect(code(#"{"type":"\#(String(repeating: "x", count: 33))"}"#) == .tooLarge)
    }

    /// v1's call set-up in the clear is gone: only sealed `signal` boxes now.
    @Test func plaintextCallSetUpIsUnknown() {
        for frame in [
            #"{"type":"offer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}"#,
            #"{"type":"answer","sdp":"v=0\r\n"}"#,
            #"{"type":"ice","candidate":{"candidate":"candidate:1 1 udp 1 192.0.2.10 3478 typ host","sdpMid":"0","sdpMLineIndex":0}}"#,
            #"{"type":"media","video":false}"#,
            #"{"type":"peer-joined"}"#, #"{"type":"welcome","v":2}"#, #"{"type":"chat-ack","clientMsgId":"m","seq":1}"#,
        ] {
            #expect(code(frame) == .unknownType, "\(frame)")
        }
    }

    // MARK: hello

    @Test func helloNeedsVersionTwoAndExactlyOneCredential() {
        #expect(code(#"{"type":"hello","v":1,"token":"\#(token)"}"#) == .badField)
        #expect(code(#"{"type":"hello","v":3,"token":"\#(token)"}"#) == .badField)
        #expect(code(#"{"type":"hello","token":"\#(token)"}"#) == .badField)
        #expect(code(#"{"type":"hello","v":"2","token":"\#(token)"}"#) == .badField)
        #expect(code(#"{"type":"hello","v":2.5,"token":"\#(token)"}"#) == .badField)
        #expect(code(#"{"type":"hello","v":true,"token":"\#(token)"}"#) == .badField)
        #expect(code(#"{"type":"hello","v":2}"#) == .badField)
        #expect(code(#"{"type":"hello","v":2,"token":"\#(token)","resume":"\#(resume)"}"#) == .badField)
        #expect(code(#"{"type":"hello","v":2,"token":"\#(token)","consultation":"7f14QGE6RccA1oCVrjP05g"}"#) == .badField)
        #expect(code(#"{"type":"hello","v":2,"token":5}"#) == .badField)
        #expect(code(#"{"type":"hello","v":2,"consultation":"../../etc"}"#) == .badField)
        #expect(code(#"{"type":"hello","v":2,"consultation":"\#(String(repeating: "A", count: 65))"}"#) == .tooLarge)
        #expect(code(#"{"type":"hello","v":2,"token":"short"}"#) == .invalidToken)
        #expect(code(#"{"type":"hello","v":2,"token":"\#(token)="}"#) == .invalidToken)
        #expect(code(#"{"type":"hello","v":2,"resume":"short"}"#) == .invalidToken)
        #expect(code(#"{"type":"hello","v":2,"token":"\#(String(repeating: "A", count: 129))"}"#) == .tooLarge)
    }

    // MARK: admit, deny, key, history

    @Test func admitDenyKeyAndHistoryFields() {
        for type in ["admit", "deny"] {
            #expect(code(#"{"type":"\#(type)"}"#) == .badField)
            #expect(code(#"{"type":"\#(type)","participant":5}"#) == .badField)
            #expect(code(#"{"type":"\#(type)","participant":""}"#) == .badField)
            #expect(code(#"{"type":"\#(type)","participant":"\#(String(repeating: "p", count: 65))"}"#) == .tooLarge)
        }
        #expect(code(#"{"type":"key"}"#) == .badField)
        #expect(code(#"{"type":"key","publicKey":42}"#) == .badField)
        #expect(code(#"{"type":"key","publicKey":"abc"}"#) == .badField)
        #expect(code(#"{"type":"key","publicKey":"\#(Self.publicKey)="}"#) == .badField)  // padded
        #expect(code(#"{"type":"key","publicKey":"\#(Base64URL.encode([UInt8](repeating: 1, count: 31)))"}"#) == .badField)
        #expect(code(#"{"type":"key","publicKey":"\#(Self.publicKey.replacingOccurrences(of: "_", with: "/"))"}"#) == .badField)
        #expect(code(#"{"type":"key","publicKey":"\#(String(repeating: "A", count: 65))"}"#) == .tooLarge)
        for bad in [
            #"{"type":"history","limit":0}"#, #"{"type":"history","limit":201}"#, #"{"type":"history","limit":"5"}"#,
            #"{"type":"history","afterSeq":-1}"#, #"{"type":"history","afterSeq":1.5}"#, #"{"type":"history","afterSeq":"41"}"#,
        ] {
            #expect(code(bad) == .badField, "\(bad)")
        }
    }

    // MARK: signal

    @Test func signalFieldsAreCheckedWithoutOpeningTheBox() {
        for field in ["to", "senderKeyId", "recipientKeyId", "nonce", "box"] {
            #expect(code(Self.signal([field: nil])) == .badField, "missing \(field)")
            for raw in ["7", "null", "true", #"{"b":1}"#, #"["x"]"#] {
                #expect(code(Self.signal(raw: [field: raw])) == .badField, "\(field): \(raw)")
            }
        }
        #expect(code(Self.signal(["to": ""])) == .badField)
        #expect(code(Self.signal(["to": String(repeating: "p", count: 65)])) == .tooLarge)
        // Key ids: 16 bytes of base64url.
        #expect(code(Self.signal(["senderKeyId": "short"])) == .badField)
        #expect(code(Self.signal(["recipientKeyId": Self.keyID + "A"])) == .badField)
        #expect(code(Self.signal(["senderKeyId": Self.otherKeyID.replacingOccurrences(of: "_", with: "+")])) == .badField)
        // The nonce: 24 bytes of base64url.
        #expect(code(Self.signal(["nonce": Base64URL.encode([UInt8](repeating: 7, count: 12))])) == .badField)
        #expect(code(Self.signal(["nonce": Self.nonce + "=="])) == .badField)
        #expect(code(Self.signal(["nonce": "!" + Self.nonce.dropFirst()])) == .badField)
    }

    @Test func theBoxMustBeBase64urlOfAPaddedSealAndAtMost48KiB() {
        let tooLarge = Base64URL.encode([UInt8](repeating: 1, count: 16 + 192 * 256))
        #expect(code(Self.signal(["box": tooLarge])) == .tooLarge)
        #expect(code(Self.signal(["box": String(repeating: "A", count: 70_000)])) == .tooLarge)
        for (what, box) in [
            ("empty", ""),
            ("the tag alone", Base64URL.encode([UInt8](repeating: 1, count: 16))),
            ("not padded to 256", Base64URL.encode([UInt8](repeating: 1, count: 16 + 100))),
            ("padded to 128 only", Base64URL.encode([UInt8](repeating: 1, count: 16 + 128))),
            ("one byte over", Base64URL.encode([UInt8](repeating: 1, count: 16 + 256 + 1))),
            ("standard base64", Self.box.replacingOccurrences(of: "J", with: "+")),
            ("with padding", Base64URL.encode([UInt8](repeating: 1, count: 16 + 256 - 2)) + "=="),
            ("a character left over", Self.box + "A"),
            ("spaces", String(Self.box.prefix(100)) + " " + String(Self.box.dropFirst(101))),
        ] {
            #expect(code(Self.signal(["box": box])) == .badField, "\(what)")
        }
    }

    // MARK: chat

    @Test func chatCopiesAreCheckedOneByOne() {
        #expect(code(Self.chat(copies: [])) == .badField)
        let seven = (0..<7).map { Self.copy(Base64URL.encode([UInt8](repeating: UInt8($0), count: 16))) }
        #expect(code(Self.chat(copies: seven)) == .badField)
        #expect(code(Self.chat(copies: [Self.copy(), Self.copy()])) == .badField)  // the same recipient twice
        #expect(code(Self.chat(copies: [Self.copy("short")])) == .badField)
        #expect(code(Self.chat(copies: [Self.copy(nonce: "AAEC")])) == .badField)
        #expect(code(Self.chat(copies: [Self.copy(ciphertext: "!!!!")])) == .badField)
        #expect(code(Self.chat(copies: [Self.copy(ciphertext: Base64URL.encode([UInt8](repeating: 0, count: 100)))])) == .badField)
        #expect(code(Self.chat(copies: [Self.copy(ciphertext: Self.box)])) == nil)  // 16 + 256 = 16 + 2 × 128
        #expect(code(Self.chat(copies: [Self.copy(ciphertext: Base64URL.encode([UInt8](repeating: 0, count: 16 + 12 * 1024)))])) == nil)
        #expect(code(Self.chat(copies: [Self.copy(ciphertext: Base64URL.encode([UInt8](repeating: 0, count: 16 + 12 * 1024 + 128)))])) == .tooLarge)
        #expect(code(Self.chat(clientMsgId: "", copies: [Self.copy()])) == .badField)
        #expect(code(Self.chat(clientMsgId: "has space", copies: [Self.copy()])) == .badField)
        #expect(code(Self.chat(clientMsgId: "m/1", copies: [Self.copy()])) == .badField)
        #expect(code(Self.chat(clientMsgId: String(repeating: "a", count: 64), copies: [Self.copy()])) == nil)
        #expect(code(Self.chat(clientMsgId: String(repeating: "a", count: 65), copies: [Self.copy()])) == .tooLarge)
        #expect(code(Self.chat(senderKeyId: "short", copies: [Self.copy()])) == .badField)
        #expect(code(#"{"type":"chat","clientMsgId":"m-1","senderKeyId":"\#(Self.keyID)"}"#) == .badField)
        #expect(code(#"{"type":"chat","clientMsgId":"m-1","senderKeyId":"\#(Self.keyID)","copies":{}}"#) == .badField)
        #expect(code(#"{"type":"chat","clientMsgId":"m-1","senderKeyId":"\#(Self.keyID)","copies":["x"]}"#) == .badField)
        #expect(code(#"{"type":"chat","clientMsgId":7,"senderKeyId":"\#(Self.keyID)","copies":[\#(Self.copy())]}"#) == .badField)
        #expect(code(#"{"type":"chat","clientMsgId":"m-1","senderKeyId":"\#(Self.keyID)","copies":[{"recipientKeyId":"\#(Self.keyID)","nonce":"\#(Self.nonce)"}]}"#) == .badField)
        // v1's one-copy envelope is not v2's chat.
        #expect(code(#"{"type":"chat","clientMsgId":"m-1","senderKeyId":"\#(Self.keyID)","recipientKeyId":"\#(Self.otherKeyID)","nonce":"\#(Self.nonce)","ciphertext":"\#(Self.ciphertext)"}"#) == .badField)
    }

    // MARK: What the server writes back

    @Test func serverFramesAreEncodedWithSortedKeys() {
        let from = ParticipantID(rawValue: "p-1")
        let signal = SealedSignal(senderKeyId: "s", recipientKeyId: "r", nonce: "n", box: "b/+")
        #expect(ServerMessage.signal(from: from, signal).encoded()
            == #"{"box":"b/+","from":"p-1","nonce":"n","recipientKeyId":"r","senderKeyId":"s","type":"signal"}"#)
        let tolk = Member(participant: ParticipantID(rawValue: "p-2"), role: .tolk)
        #expect(ServerMessage.roster([.init(member: tolk, keyId: nil)]).encoded()
            == #"{"participants":[{"keyId":null,"participant":"p-2","role":"tolk"}],"type":"roster"}"#)
        #expect(ServerMessage.knock(tolk).encoded() == #"{"participant":"p-2","role":"tolk","type":"knock"}"#)
        #expect(ServerMessage.knock(tolk, identified: .init(level: .high, expiresAt: Date())).encoded()
            == #"{"identified":{"level":"high","method":"id-porten"},"participant":"p-2","role":"tolk","type":"knock"}"#)
        #expect(ServerMessage.key(.init(from: tolk, publicKey: "k", keyId: "i", changed: true)).encoded()
            == #"{"changed":true,"from":"p-2","keyId":"i","publicKey":"k","role":"tolk","type":"key"}"#)
        #expect(ServerMessage.chatAck(clientMsgId: "m-1", seq: 42).encoded() == #"{"clientMsgId":"m-1","seq":42,"type":"chat-ack"}"#)
        #expect(ServerMessage.admitted(.init(iceServers: [], iceTransportPolicy: .all)).encoded()
            == #"{"iceServers":[],"iceTransportPolicy":"all","type":"admitted"}"#)
        let stored = StoredChat(
            from: from, senderRole: .deltaker, clientMsgId: "m-1", senderKeyId: "s", copy: ChatCopy(recipientKeyId: "r", nonce: "n", ciphertext: "c"),
            seq: 7, storedAt: Date(timeIntervalSince1970: 1_764_000_000.125))
        let chat = #""ciphertext":"c","clientMsgId":"m-1","from":"p-1","nonce":"n","recipientKeyId":"r","senderKeyId":"s","senderRole":"deltaker","seq":7,"storedAt":"2025-11-24T16:00:00.125Z""#
        #expect(ServerMessage.chat(stored).encoded() == "{" + chat + #","type":"chat"}"#)
        #expect(ServerMessage.history(messages: [stored], more: true).encoded() == #"{"messages":[{"# + chat + #"}],"more":true,"type":"history"}"#)
    }

    @Test func errorsThatEndTheConnection() {
        for code in [SignalError.Code.badJSON, .unknownType, .badField, .tooLarge, .rateLimited, .helloRequired, .alreadyJoined, .forbidden,
            .notAdmitted, .peerAbsent, .notInCall, .notWaiting]
        {
            #expect(SignalError(code, "").closeCode == nil, "\(code)")
        }
        for code in [SignalError.Code.invalidToken, .expired, .ended, .roomFull, .helloTimeout, .sessionReplaced] {
            #expect(SignalError(code, "").closeCode == .policyViolation, "\(code)")
        }
        #expect(SignalError(.internalError, "").closeCode == .internalError)
    }
}
