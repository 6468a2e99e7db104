import Foundation
import SamromCore
import Sodium
import Testing

/// The end-to-end chat construction against docs/protocol.md's test vector
/// (computed with PyNaCl), and every way of tampering with an envelope.
@Suite struct ChatCipherTests {
    static let consultation = ConsultationID(rawValue: "7f14QGE6RccA1oCVrjP05g")
    static let veileder = try! KeyExchange.KeyPair.fromSeed(SecureBytes(Array(repeating: 1, count: 32)))
    static let deltaker = try! KeyExchange.KeyPair.fromSeed(SecureBytes(Array(repeating: 2, count: 32)))
    static let message = ChatCipher.Message(text: "Hei! Jeg er litt sein i dag.", sentAt: "2026-11-24T09:30:00.000Z")

    static var vectorCiphertext: String {
        let document = try! String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("docs/protocol.md"), encoding: .utf8)
        let start = document.range(of: "```chat-vector-ciphertext\n")!
        let end = document.range(of: "\n```", range: start.upperBound..<document.endIndex)!
        return String(document[start.upperBound..<end.lowerBound])
    }

    static func ciphers() throws -> (deltaker: ChatCipher, veileder: ChatCipher) {
        (try ChatCipher(consultation: consultation, role: .deltaker, own: deltaker, peer: veileder.publicKey),
         try ChatCipher(consultation: consultation, role: .veileder, own: veileder, peer: deltaker.publicKey))
    }

    @Test func theDocumentedTestVector() throws {
        let (d, v) = try Self.ciphers()
        #expect(Base64URL.encode(Self.veileder.publicKey.bytes) == "qy_KMomDIsII-y2rUEi9Q8NVxkMPWIiXy1dJYc-pgG8")
        #expect(Base64URL.encode(Self.deltaker.publicKey.bytes) == "_Dszk2elIl1TqS04AyOv0DXXgXttG-R9lG9rCanL3AY")
        #expect(d.ownKeyID == "KLqljBKXTshj1Sut3V6mog")
        #expect(v.ownKeyID == "CMJeJrqz_SgUHVWZmhVDuA")
        #expect(d.safetyCode == "9445 1859 5616")
        #expect(v.safetyCode == d.safetyCode)
        let envelope = try d.seal(Self.message, clientMsgId: "m-0001", nonce: Array(0..<24))
        #expect(envelope.nonce == "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX")
        #expect(envelope.ciphertext == Self.vectorCiphertext)
        #expect(try envelope.validated() == envelope)
        #expect(try v.open(envelope, senderRole: .deltaker) == Self.message)
    }

    @Test func bothDirectionsOpenAndLengthsAreHidden() throws {
        let (d, v) = try Self.ciphers()
        let reply = try v.seal(.init(text: "Velkommen! 👋", sentAt: "2026-11-24T09:31:00.000Z"), clientMsgId: "v-1")
        #expect(try d.open(reply, senderRole: .veileder).text == "Velkommen! 👋")
        // Short and not-so-short messages are the same size on the wire.
        let short = try d.seal(.init(text: "ja", sentAt: "2026-11-24T09:31:00.000Z"), clientMsgId: "a")
        let longer = try d.seal(.init(text: String(repeating: "x", count: 60), sentAt: "2026-11-24T09:31:00.000Z"), clientMsgId: "b")
        #expect(short.ciphertext.count == longer.ciphertext.count)
    }

    @Test func tamperingWithAnyPartFailsToOpen() throws {
        let (d, v) = try Self.ciphers()
        let envelope = try d.seal(Self.message, clientMsgId: "m-0001")
        var flipped = try Base64URL.decode(envelope.ciphertext)
        flipped[10] ^= 1
        var nonce = try Base64URL.decode(envelope.nonce)
        nonce[0] ^= 1
        let other = Base64URL.encode(try GenericHash.hash([9], length: 16))
        let tampered: [(String, ChatEnvelope, ParticipantRole)] = [
            ("ciphertext", ChatEnvelope(clientMsgId: "m-0001", senderKeyId: envelope.senderKeyId, recipientKeyId: envelope.recipientKeyId, nonce: envelope.nonce, ciphertext: Base64URL.encode(flipped)), .deltaker),
            ("nonce", ChatEnvelope(clientMsgId: "m-0001", senderKeyId: envelope.senderKeyId, recipientKeyId: envelope.recipientKeyId, nonce: Base64URL.encode(nonce), ciphertext: envelope.ciphertext), .deltaker),
            ("clientMsgId", ChatEnvelope(clientMsgId: "m-0002", senderKeyId: envelope.senderKeyId, recipientKeyId: envelope.recipientKeyId, nonce: envelope.nonce, ciphertext: envelope.ciphertext), .deltaker),
            ("senderKeyId", ChatEnvelope(clientMsgId: "m-0001", senderKeyId: other, recipientKeyId: envelope.recipientKeyId, nonce: envelope.nonce, ciphertext: envelope.ciphertext), .deltaker),
            ("recipientKeyId", ChatEnvelope(clientMsgId: "m-0001", senderKeyId: envelope.senderKeyId, recipientKeyId: other, nonce: envelope.nonce, ciphertext: envelope.ciphertext), .deltaker),
            ("senderRole", envelope, .veileder),
        ]
        for (what, envelope, role) in tampered {
            #expect(throws: (any Error).self, "a changed \(what) must not open") { try v.open(envelope, senderRole: role) }
        }
        // Another consultation's cipher cannot open it either.
        let elsewhere = try ChatCipher(
            consultation: ConsultationID(rawValue: "AAAAAAAAAAAAAAAAAAAAAA"), role: .veileder, own: Self.veileder,
            peer: Self.deltaker.publicKey)
        #expect(throws: (any Error).self) { try elsewhere.open(envelope, senderRole: .deltaker) }
    }

    @Test func malformedEnvelopesAreRefusedWithStableCodes() throws {
        let (d, _) = try Self.ciphers()
        let good = try d.seal(Self.message, clientMsgId: "m-0001")
        func code(_ change: (inout ChatEnvelope) -> Void) -> SignalError.Code? {
            var envelope = good
            change(&envelope)
            do {
                _ = try envelope.validated()
                return nil
            } catch {
                return error.code
            }
        }
        #expect(code { _ in } == nil)
        #expect(code { $0.clientMsgId = "" } == .badField)
        #expect(code { $0.clientMsgId = "has space" } == .badField)
        #expect(code { $0.clientMsgId = String(repeating: "a", count: 65) } == .badField)
        #expect(code { $0.senderKeyId = "short" } == .badField)
        #expect(code { $0.recipientKeyId = good.senderKeyId + "A" } == .badField)
        #expect(code { $0.nonce = "AAEC" } == .badField)
        #expect(code { $0.ciphertext = "!!!" } == .badField)
        #expect(code { $0.ciphertext = Base64URL.encode(Array(repeating: UInt8(0), count: 100)) } == .badField)  // not padded
        #expect(code { $0.ciphertext = Base64URL.encode(Array(repeating: UInt8(0), count: 16 + 17 * 1024)) } == .tooLarge)
    }

    @Test func wireMessagesDecode() throws {
        #expect(try ClientMessage.decode(#"{"type":"history"}"#) == .history(afterSeq: nil, limit: 50))
        #expect(try ClientMessage.decode(#"{"type":"history","afterSeq":3,"limit":200}"#) == .history(afterSeq: 3, limit: 200))
        for bad in [#"{"type":"history","limit":0}"#, #"{"type":"history","limit":201}"#, #"{"type":"history","afterSeq":-1}"#,
                    #"{"type":"key","publicKey":"abc"}"#, #"{"type":"key"}"#, #"{"type":"chat","clientMsgId":"x"}"#] {
            #expect(throws: SignalError.self, "\(bad)") { try ClientMessage.decode(bad) }
        }
    }
}
