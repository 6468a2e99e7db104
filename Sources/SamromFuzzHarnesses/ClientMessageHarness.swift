import Foundation
import SamromCore
import Sodium

extension FuzzHarness {
    /// `ClientMessage.decode`, the WebSocket frame decoder: any bytes, as the
    /// text frame a browser could send (invalid UTF-8 is repaired, as
    /// `String(decoding:)` does). Every frame it accepts is written again as
    /// JSON and must decode to the same message; the sealed parts it accepts
    /// must pass their own validation.
    public static let clientMessage = FuzzHarness(name: "client-message", maxLength: 4096) { (bytes) throws(InvariantViolation) in
        let text = String(decoding: bytes, as: UTF8.self)
        let message: ClientMessage
        do throws(SignalError) {
            message = try ClientMessage.decode(text)
        } catch {
            try require(!error.message.isEmpty, "a SignalError without a message")
            return
        }
        // Ids, keys, tokens and nonces are base64url: nothing else may pass
        // for them (they go to other browsers, the audit log and the database).
        var encoded: [String] = []
        switch message {
        case .hello(.consultation(let id)): encoded = [id.rawValue]
        case .hello(.token(let token)): encoded = [token.encoded]
        case .hello(.resume(let token)): encoded = [token.encoded]
        case .signal(_, let signal):
            try require((try? signal.validated()) != nil, "an accepted signal fails SealedSignal.validated()")
            encoded = [signal.senderKeyId, signal.recipientKeyId, signal.nonce, signal.box]
        case .chat(let envelope):
            try require((try? envelope.validated()) != nil, "an accepted chat fails ChatEnvelope.validated()")
            encoded = [envelope.clientMsgId, envelope.senderKeyId] + envelope.copies.flatMap { [$0.recipientKeyId, $0.nonce, $0.ciphertext] }
        default:
            break
        }
        for field in encoded {
            try require(field.utf8.allSatisfy(Base64URL.isAlphabet), "\(message) was accepted with \(field.debugDescription), which is not base64url")
        }
        let again = try WireFrame(message).encoded()
        do {
            let decodedAgain = try ClientMessage.decode(again)
            try require(decodedAgain == message, "\(message) written as \(again) decodes to \(decodedAgain)")
        } catch {
            throw InvariantViolation("\(message) written as \(again) does not decode: \(error)")
        }
    }
}

/// A client message written as a frame, the way a client writes it.
struct WireFrame: Encodable {
    var type: String
    var v: Int?
    var consultation: String?
    var token: String?
    var resume: String?
    var participant: String?
    var identification: String?
    var text: String?
    var publicKey: String?
    var to: String?
    var senderKeyId: String?
    var recipientKeyId: String?
    var nonce: String?
    var box: String?
    var clientMsgId: String?
    var copies: [ChatCopy]?
    var afterSeq: UInt64?
    var limit: Int?
    var video: Bool?

    init(type: String) { self.type = type }

    init(_ message: ClientMessage) {
        switch message {
        case .hello(let credential):
            self.init(type: "hello")
            v = ClientMessage.protocolVersion
            switch credential {
            case .consultation(let id): consultation = id.rawValue
            case .token(let token): self.token = token.encoded
            case .resume(let token): resume = token.encoded
            }
        case .admit(let participant, let identification):
            self.init(type: "admit")
            self.participant = participant.rawValue
            self.identification = identification?.rawValue
        case .deny(let participant):
            self.init(type: "deny")
            self.participant = participant.rawValue
        case .hold(let participant, let text):
            self.init(type: "hold")
            self.participant = participant.rawValue
            self.text = text
        case .key(let key):
            self.init(type: "key")
            publicKey = Base64URL.encode(key.bytes)
        case .signal(let to, let signal):
            self.init(type: "signal")
            self.to = to.rawValue
            self.init(signal, into: self)
        case .chat(let envelope):
            self.init(type: "chat")
            clientMsgId = envelope.clientMsgId
            senderKeyId = envelope.senderKeyId
            copies = envelope.copies
        case .history(let afterSeq, let limit):
            self.init(type: "history")
            self.afterSeq = afterSeq
            self.limit = limit
        case .callMedia(let video):
            self.init(type: "call-media")
            self.video = video
        case .leave: self.init(type: "leave")
        case .end: self.init(type: "end")
        case .ping: self.init(type: "ping")
        }
    }

    private init(_ signal: SealedSignal, into frame: WireFrame) {
        self = frame
        senderKeyId = signal.senderKeyId
        recipientKeyId = signal.recipientKeyId
        nonce = signal.nonce
        box = signal.box
    }

    func encoded() throws(InvariantViolation) -> String {
        do {
            return String(decoding: try JSONEncoder().encode(self), as: UTF8.self)
        } catch {
            throw InvariantViolation("a decoded message cannot be written again: \(error)")
        }
    }
}
