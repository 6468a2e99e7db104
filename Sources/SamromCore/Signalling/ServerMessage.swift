import Foundation

/// Everything the server sends on `/ws`.
public enum ServerMessage: Sendable, Equatable {
    case welcome(Welcome)
    /// To a deltaker: wait, the veileder will let you in.
    case lobby
    /// To the veileder: someone is waiting.
    case knock(participant: ParticipantID)
    /// To the veileder: a waiting deltaker went away.
    case lobbyLeft(participant: ParticipantID)
    case admitted
    case denied
    case peerJoined(Peer)
    case peerLeft(Peer)
    case offer(from: ParticipantID, sdp: String)
    case answer(from: ParticipantID, sdp: String)
    case ice(from: ParticipantID, candidate: IceCandidate)
    /// The other side now sends a picture (`video`) or not (camera off).
    case media(from: ParticipantID, video: Bool)
    case ended
    case pong
    case error(SignalError)
    /// The other person's chat public key; `changed` when it replaced an earlier one.
    case key(from: ParticipantID, role: ParticipantRole, publicKey: String, keyId: String, changed: Bool)
    /// A relayed chat envelope as stored.
    case chat(from: ParticipantID, StoredChat)
    /// The envelope with this clientMsgId is durably stored as `seq`.
    case chatAck(clientMsgId: String, seq: UInt64)
    case history(messages: [StoredChat], more: Bool)

    public struct Welcome: Sendable, Equatable {
        public var you: Peer
        public var consultation: ConsultationInfo
        public var iceServers: [IceServer]
        /// How browsers must build their peer connection: `relay` hides both IP addresses.
        public var iceTransportPolicy: IceTransportPolicy
        public var peers: [Peer]
        public var resume: ResumeToken

        public init(
            you: Peer, consultation: ConsultationInfo, iceServers: [IceServer], iceTransportPolicy: IceTransportPolicy = .all,
            peers: [Peer], resume: ResumeToken
        ) {
            self.you = you
            self.consultation = consultation
            self.iceServers = iceServers
            self.iceTransportPolicy = iceTransportPolicy
            self.peers = peers
            self.resume = resume
        }
    }

    public struct Peer: Sendable, Equatable, Codable {
        public var participant: ParticipantID
        public var role: ParticipantRole
        public init(participant: ParticipantID, role: ParticipantRole) {
            self.participant = participant
            self.role = role
        }
    }

    /// What a participant learns about the consultation. The title is the
    /// veileder's own note and goes to the veileder only.
    public struct ConsultationInfo: Sendable, Equatable, Codable {
        public var id: ConsultationID
        public var expiresAt: Date
        public var title: String?
        public init(id: ConsultationID, expiresAt: Date, title: String?) {
            self.id = id
            self.expiresAt = expiresAt
            self.title = title
        }
    }

    public var type: String {
        switch self {
        case .welcome: "welcome"
        case .lobby: "lobby"
        case .knock: "knock"
        case .lobbyLeft: "lobby-left"
        case .admitted: "admitted"
        case .denied: "denied"
        case .peerJoined: "peer-joined"
        case .peerLeft: "peer-left"
        case .offer: "offer"
        case .answer: "answer"
        case .ice: "ice"
        case .media: "media"
        case .ended: "ended"
        case .pong: "pong"
        case .error: "error"
        case .key: "key"
        case .chat: "chat"
        case .chatAck: "chat-ack"
        case .history: "history"
        }
    }

    /// The JSON text frame.
    public func encoded() -> String {
        switch self {
        case .offer(let from, let sdp), .answer(let from, let sdp): return RelayFrame.encode(type, from: from, sdp: sdp)
        case .ice(let from, let candidate): return RelayFrame.encode(from: from, candidate: candidate)
        case .chat(let from, let stored): return RelayFrame.encode(from: from, chat: stored)
        case .chatAck(let clientMsgId, let seq): return RelayFrame.encode(ack: clientMsgId, seq: seq)
        default: break
        }
        var object: [String: JSONValue] = ["type": .string(type)]
        switch self {
        case .welcome(let welcome):
            object["v"] = .int(Int64(ClientMessage.protocolVersion))
            object["you"] = welcome.you.json
            var info: [String: JSONValue] = [
                "id": .string(welcome.consultation.id.rawValue),
                "expiresAt": .string(ServerMessage.timestamp(welcome.consultation.expiresAt)),
            ]
            if let title = welcome.consultation.title { info["title"] = .string(title) }
            object["consultation"] = .object(info)
            object["iceServers"] = .array(welcome.iceServers.map { server in
                var entry: [String: JSONValue] = ["urls": .array(server.urls.map(JSONValue.string))]
                if let username = server.username { entry["username"] = .string(username) }
                if let credential = server.credential { entry["credential"] = .string(credential) }
                return .object(entry)
            })
            object["iceTransportPolicy"] = .string(welcome.iceTransportPolicy.rawValue)
            object["peers"] = .array(welcome.peers.map(\.json))
            object["resume"] = .string(welcome.resume.encoded)
        case .knock(let participant), .lobbyLeft(let participant):
            object["participant"] = .string(participant.rawValue)
        case .peerJoined(let peer), .peerLeft(let peer):
            object["participant"] = .string(peer.participant.rawValue)
            object["role"] = .string(peer.role.rawValue)
        case .offer, .answer, .ice, .chat, .chatAck:
            break  // encoded above
        case .media(let from, let video):
            object["from"] = .string(from.rawValue)
            object["video"] = .bool(video)
        case .error(let error):
            object["code"] = .string(error.code.rawValue)
            object["message"] = .string(error.message)
        case .key(let from, let role, let publicKey, let keyId, let changed):
            object["from"] = .string(from.rawValue)
            object["role"] = .string(role.rawValue)
            object["publicKey"] = .string(publicKey)
            object["keyId"] = .string(keyId)
            object["changed"] = .bool(changed)
        case .history(let messages, let more):
            object["messages"] = .array(messages.map { .object($0.json) })
            object["more"] = .bool(more)
        case .lobby, .admitted, .denied, .ended, .pong:
            break
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try! encoder.encode(JSONValue.object(object)), as: UTF8.self)
    }

    /// UTC, RFC 3339 with milliseconds.
    public static func timestamp(_ date: Date) -> String { AuditEntry.timestamp(date) }
}

extension ServerMessage.Peer {
    var json: JSONValue {
        .object(["participant": .string(participant.rawValue), "role": .string(role.rawValue)])
    }
}

extension StoredChat {
    /// The envelope plus `seq`, `senderRole` and `storedAt`, as relayed and in history.
    var json: [String: JSONValue] {
        [
            "clientMsgId": .string(envelope.clientMsgId), "senderKeyId": .string(envelope.senderKeyId),
            "recipientKeyId": .string(envelope.recipientKeyId), "nonce": .string(envelope.nonce),
            "ciphertext": .string(envelope.ciphertext), "seq": .int(Int64(seq)), "senderRole": .string(senderRole.rawValue),
            "storedAt": .string(ServerMessage.timestamp(storedAt)),
        ]
    }
}
