import Foundation
import Sodium

/// Everything a client may send on `/ws` (protocol v2), validated on arrival.
/// Call set-up travels only as `signal` boxes the server cannot open; the
/// v1 plaintext `offer`, `answer`, `ice` and `media` are `unknown-type`.
public enum ClientMessage: Sendable, Equatable {
    case hello(Credential)
    /// With how the veileder identified the person, when they say.
    case admit(ParticipantID, Identification? = nil)
    case deny(ParticipantID)
    /// The veileder asks someone waiting in the lobby to hold on, with a short
    /// message ("Jeg kommer om fem minutter"): someone in the lobby has no key
    /// yet, so the server carries it, and keeps it nowhere.
    case hold(ParticipantID, text: String)
    /// This device's X25519 public key for the consultation, on entering the call.
    case key(KeyExchange.PublicKey)
    /// A sealed box for one participant of the same call.
    case signal(to: ParticipantID, SealedSignal)
    /// An end-to-end encrypted chat message: one sealed copy per recipient key.
    case chat(ChatEnvelope)
    /// A page of the copies addressed to the asker's key, after `afterSeq`.
    case history(afterSeq: UInt64?, limit: Int)
    case leave
    case end
    case ping
    /// The owning veileder's page says whether video is used in the call
    /// now, for the centre's anonymous figures only (`CallMedia`).
    case callMedia(video: Bool)

    /// How a client says who it is in `hello`.
    public enum Credential: Sendable, Equatable {
        /// A logged-in veileder (by cookie) opening one of their consultations.
        case consultation(ConsultationID)
        /// A deltaker or tolk with a join link's token: the link decides the role.
        case token(JoinToken)
        /// Anyone coming back with the resume token from `welcome`.
        case resume(ResumeToken)
    }

    public static let protocolVersion = 2

    /// The `type` of every message this version understands.
    public static let knownTypes: Set<String> = [
        "hello", "admit", "deny", "hold", "key", "signal", "chat", "history", "leave", "end", "ping",
        "call-media",
    ]

    /// A hold message is a sentence, not a letter.
    public static let maxHoldCharacters = 200

    /// History pages hold at most this many messages.
    public static let maxHistoryPage = 200

    /// Parses one text frame. Never traps; every failure is a `SignalError`.
    public static func decode(_ text: String) throws(SignalError) -> ClientMessage {
        do {
            return try JSONDecoder().decode(Frame.self, from: Data(text.utf8)).message
        } catch let error as SignalError {
            throw error
        } catch {
            throw SignalError(.badJSON, "the message is not valid JSON")
        }
    }

    /// The one decoder of client frames: `type` first, then that type's fields.
    private struct Frame: Decodable {
        let message: ClientMessage

        init(from decoder: any Decoder) throws {
            let fields = try WireFields(decoder)
            let type = try fields.string("type", maxBytes: 32)
            switch type {
            case "hello":
                message = .hello(try Self.credential(fields))
            case "admit":
                let identification = try fields.optionalString("identification", maxBytes: 32).map { (text) throws(SignalError) in
                    guard let value = Identification(rawValue: text) else {
                        throw SignalError(.badField, "\"identification\" must be known, id-document or id-porten")
                    }
                    return value
                }
                message = .admit(try fields.participant(), identification)
            case "deny":
                message = .deny(try fields.participant())
            case "call-media":
                message = .callMedia(video: try fields.bool("video"))
            case "hold":
                let participant = try fields.participant()
                let text = try fields.string("text", maxBytes: 4 * ClientMessage.maxHoldCharacters)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                guard !text.isEmpty, text.count <= ClientMessage.maxHoldCharacters else {
                    throw SignalError(.badField, "\"text\" must be 1 to \(ClientMessage.maxHoldCharacters) characters")
                }
                guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0.properties.generalCategory == .format }) else {
                    throw SignalError(.badField, "\"text\" cannot contain control characters")
                }
                message = .hold(participant, text: text)
            case "key":
                message = .key(try DeviceKey.publicKey(try fields.string("publicKey", maxBytes: 64)))
            case "signal":
                let to = try fields.string("to", maxBytes: 64)
                guard !to.isEmpty else { throw SignalError(.badField, "\"to\" is empty") }
                let signal = try SealedSignal(
                    senderKeyId: fields.string("senderKeyId", maxBytes: 64),
                    recipientKeyId: fields.string("recipientKeyId", maxBytes: 64),
                    nonce: fields.string("nonce", maxBytes: 64),
                    box: fields.string("box", maxBytes: (SealedSignal.maxBoxBytes * 4 + 2) / 3)
                ).validated()
                message = .signal(to: ParticipantID(rawValue: to), signal)
            case "chat":
                let copies = try fields.objects("copies", maxCount: ChatEnvelope.maxCopies).map { (copy) throws(SignalError) in
                    try ChatCopy(
                        recipientKeyId: copy.string("recipientKeyId", maxBytes: 64),
                        nonce: copy.string("nonce", maxBytes: 64),
                        ciphertext: copy.string("ciphertext", maxBytes: (ChatCopy.maxCiphertextBytes * 4 + 2) / 3))
                }
                message = .chat(
                    try ChatEnvelope(
                        clientMsgId: fields.string("clientMsgId", maxBytes: ChatEnvelope.maxClientMsgIdBytes),
                        senderKeyId: fields.string("senderKeyId", maxBytes: 64),
                        copies: copies
                    ).validated())
            case "history":
                message = try Self.history(fields)
            case "leave":
                message = .leave
            case "end":
                message = .end
            case "ping":
                message = .ping
            default:
                throw SignalError(.unknownType, "unknown message type")
            }
        }

        private static func credential(_ fields: WireFields) throws(SignalError) -> Credential {
            guard let version = try? fields.optionalInt("v") else { throw SignalError(.badField, "\"v\" must be the number 2") }
            guard version == protocolVersion else { throw SignalError(.badField, "unsupported protocol version; this server speaks 2") }
            let consultation = try fields.optionalString("consultation", maxBytes: 64)
            let token = try fields.optionalString("token", maxBytes: 128)
            let resume = try fields.optionalString("resume", maxBytes: 128)
            switch (consultation, token, resume) {
            case (let id?, nil, nil):
                guard ConsultationID.isWellFormed(id) else { throw SignalError(.badField, "\"consultation\" is not an id") }
                return .consultation(ConsultationID(rawValue: id))
            case (nil, let text?, nil):
                guard let token = JoinToken.parse(text) else { throw SignalError(.invalidToken, "this link is not valid") }
                return .token(token)
            case (nil, nil, let text?):
                guard let token = ResumeToken.parse(text) else { throw SignalError(.invalidToken, "the resume token is not valid") }
                return .resume(token)
            default:
                throw SignalError(.badField, "hello needs exactly one of \"consultation\", \"token\" or \"resume\"")
            }
        }

        private static func history(_ fields: WireFields) throws(SignalError) -> ClientMessage {
            let after = try fields.optionalInt("afterSeq")
            if let after, after < 0 { throw SignalError(.badField, "\"afterSeq\" must be a non-negative integer") }
            let limit = try fields.optionalInt("limit") ?? 50
            guard (1...ClientMessage.maxHistoryPage).contains(limit) else {
                throw SignalError(.badField, "\"limit\" must be 1 to \(ClientMessage.maxHistoryPage)")
            }
            return .history(afterSeq: after.map { UInt64($0) }, limit: limit)
        }
    }
}
