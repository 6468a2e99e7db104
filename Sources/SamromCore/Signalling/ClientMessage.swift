import Foundation
import Sodium

/// Everything a client may send on `/ws`, validated on arrival.
public enum ClientMessage: Sendable, Equatable {
    case hello(Credential)
    case admit(ParticipantID)
    case deny(ParticipantID)
    case offer(sdp: String)
    case answer(sdp: String)
    case ice(IceCandidate)
    /// Whether this side sends a picture now (camera on, or a screen), so the
    /// other side can say "camera off" instead of showing a black box.
    case media(video: Bool)
    case leave
    case end
    case ping
    /// This device's chat public key for the consultation (crypto_kx).
    case key(KeyExchange.PublicKey)
    /// An end-to-end encrypted chat envelope.
    case chat(ChatEnvelope)
    /// A page of the chat thread after `afterSeq`.
    case history(afterSeq: UInt64?, limit: Int)

    /// How a client says who it is in `hello`.
    public enum Credential: Sendable, Equatable {
        /// A logged-in veileder (by cookie) opening one of their consultations.
        case consultation(ConsultationID)
        /// A deltaker with the join link's token.
        case token(JoinToken)
        /// Anyone coming back with the resume token from `welcome`.
        case resume(ResumeToken)
    }

    public static let protocolVersion = 1
    /// An SDP of a video call with screen sharing is about 6–12 KB.
    public static let maxSDPBytes = 32 * 1024

    /// The `type` of every message this version understands.
    public static let knownTypes: Set<String> = [
        "hello", "admit", "deny", "offer", "answer", "ice", "media", "leave", "end", "ping", "key", "chat", "history",
    ]

    /// History pages hold at most this many messages.
    public static let maxHistoryPage = 200

    /// Parses one text frame. Never traps; every failure is a `SignalError`.
    public static func decode(_ text: String) throws(SignalError) -> ClientMessage {
        let data = Data(text.utf8)
        // Offer, answer and ICE, nearly all of a call's frames, go the fast way.
        if let relayed = RelayFrame.decode(data) { return relayed }
        return try decodeFieldByField(data)
    }

    /// The long way, for every type: one `JSONValue` tree, then each field
    /// checked with an error that names it.
    static func decodeFieldByField(_ data: Data) throws(SignalError) -> ClientMessage {
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw SignalError(.badJSON, "the message is not valid JSON")
        }
        guard case .object(let object) = value else {
            throw SignalError(.badJSON, "a message must be a JSON object")
        }
        guard case .string(let type)? = object["type"] else {
            throw SignalError(.badField, "\"type\" must be a string")
        }
        let fields = Fields(object)
        switch type {
        case "hello":
            return .hello(try decodeHello(fields))
        case "admit":
            return .admit(try fields.participant())
        case "deny":
            return .deny(try fields.participant())
        case "offer":
            return .offer(sdp: try fields.sdp())
        case "answer":
            return .answer(sdp: try fields.sdp())
        case "ice":
            return .ice(try fields.candidate())
        case "media":
            guard case .bool(let video)? = object["video"] else { throw SignalError(.badField, "\"video\" must be true or false") }
            return .media(video: video)
        case "leave":
            return .leave
        case "end":
            return .end
        case "ping":
            return .ping
        case "key":
            return .key(try ChatKey.publicKey(try fields.string("publicKey", maxBytes: 64)))
        case "chat":
            return .chat(try fields.envelope())
        case "history":
            return try fields.history()
        default:
            throw SignalError(.unknownType, "unknown message type")
        }
    }

    private static func decodeHello(_ fields: Fields) throws(SignalError) -> Credential {
        guard let version = fields.int("v") else { throw SignalError(.badField, "\"v\" must be the number 1") }
        guard version == protocolVersion else { throw SignalError(.badField, "unsupported protocol version") }
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
}

/// Typed access to a decoded JSON object's fields, with clear errors.
private struct Fields {
    let object: [String: JSONValue]
    init(_ object: [String: JSONValue]) { self.object = object }

    func int(_ key: String) -> Int? {
        guard case .int(let value)? = object[key], let small = Int(exactly: value) else { return nil }
        return small
    }

    func optionalString(_ key: String, maxBytes: Int) throws(SignalError) -> String? {
        switch object[key] {
        case nil, .null?:
            return nil
        case .string(let text)?:
            guard text.utf8.count <= maxBytes else { throw SignalError(.tooLarge, "\"\(key)\" is too long") }
            return text
        default:
            throw SignalError(.badField, "\"\(key)\" must be a string")
        }
    }

    func string(_ key: String, maxBytes: Int) throws(SignalError) -> String {
        guard let text = try optionalString(key, maxBytes: maxBytes) else {
            throw SignalError(.badField, "\"\(key)\" is required")
        }
        return text
    }

    func participant() throws(SignalError) -> ParticipantID {
        let text = try string("participant", maxBytes: 64)
        guard !text.isEmpty else { throw SignalError(.badField, "\"participant\" is empty") }
        return ParticipantID(rawValue: text)
    }

    func sdp() throws(SignalError) -> String {
        let text = try string("sdp", maxBytes: ClientMessage.maxSDPBytes)
        guard text.hasPrefix("v=0") else { throw SignalError(.badField, "\"sdp\" is not a session description") }
        return text
    }

    func envelope() throws(SignalError) -> ChatEnvelope {
        try ChatEnvelope(
            clientMsgId: string("clientMsgId", maxBytes: ChatEnvelope.maxClientMsgIdBytes),
            senderKeyId: string("senderKeyId", maxBytes: 64),
            recipientKeyId: string("recipientKeyId", maxBytes: 64),
            nonce: string("nonce", maxBytes: 64),
            ciphertext: string("ciphertext", maxBytes: (ChatEnvelope.maxCiphertextBytes * 4 + 2) / 3)
        ).validated()
    }

    func history() throws(SignalError) -> ClientMessage {
        var after: UInt64?
        switch object["afterSeq"] {
        case nil, .null?: after = nil
        case .int(let value)? where value >= 0: after = UInt64(value)
        default: throw SignalError(.badField, "\"afterSeq\" must be a non-negative integer")
        }
        var limit = 50
        switch object["limit"] {
        case nil, .null?: break
        case .int(let value)? where (1...Int64(ClientMessage.maxHistoryPage)).contains(value): limit = Int(value)
        default: throw SignalError(.badField, "\"limit\" must be 1 to \(ClientMessage.maxHistoryPage)")
        }
        return .history(afterSeq: after, limit: limit)
    }

    func candidate() throws(SignalError) -> IceCandidate {
        guard case .object(let raw)? = object["candidate"] else {
            throw SignalError(.badField, "\"candidate\" must be an object")
        }
        let inner = Fields(raw)
        let candidate = try inner.string("candidate", maxBytes: IceCandidate.maxCandidateBytes)
        let mid = try inner.optionalString("sdpMid", maxBytes: 64)
        var index: Int?
        switch raw["sdpMLineIndex"] {
        case nil, .null?:
            index = nil
        default:
            guard let number = inner.int("sdpMLineIndex") else {
                throw SignalError(.badField, "\"candidate.sdpMLineIndex\" must be an integer")
            }
            index = number
        }
        let ufrag = try inner.optionalString("usernameFragment", maxBytes: 256)
        return try IceCandidate(candidate: candidate, sdpMid: mid, sdpMLineIndex: index, usernameFragment: ufrag).validated()
    }
}
