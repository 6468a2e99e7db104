import Foundation

/// Everything the server sends on `/ws` (protocol v2). Encoded by one
/// `Codable` writer (`encode(to:)`): sorted keys, slashes unescaped.
public enum ServerMessage: Sendable, Equatable, Encodable {
    case welcome(Welcome)
    /// To a deltaker or tolk: wait, the veileder will let you in.
    case lobby
    /// To someone in the lobby: the veileder's short message ("Jeg kommer om fem minutter").
    case hold(text: String)
    /// To the veileder: someone is waiting, in this role.
    /// Someone waits in the lobby; `identified` when they logged in with ID-porten first.
    case knock(Member, identified: VerifiedIdentity? = nil)
    /// To the veileder: someone waiting went away (or their link was replaced).
    case lobbyLeft(participant: ParticipantID)
    /// You are in the call: how to reach the others (TURN credentials valid at most an hour).
    case admitted(IceConfiguration)
    case denied
    /// Who is in the call now, with each one's announced key id.
    case roster([RosterEntry])
    /// A participant's device key for this consultation.
    case key(KeyAnnouncement)
    /// A sealed box from `from`, for you alone.
    case signal(from: ParticipantID, SealedSignal)
    /// Your copy of a chat message, as stored.
    case chat(StoredChat)
    /// The message with this clientMsgId is durably stored (every copy) as `seq`.
    case chatAck(clientMsgId: String, seq: UInt64)
    case history(messages: [StoredChat], more: Bool)
    case ended
    case pong
    case error(SignalError)
    /// Before `welcome`: this consultation's call lives on another instance
    /// (issue 14). Reconnect to `/ws?r=route&i=instance` after `retryAfterMs`
    /// and say the same hello there; the connection is closed.
    case moved(Moved)

    /// About how many bytes this message takes encoded: exact enough to
    /// bound a connection's outbox in bytes without encoding it twice (the
    /// large fields are counted exactly, the rest generously).
    public var estimatedBytes: Int {
        switch self {
        case .signal(_, let sealed): 256 + sealed.box.utf8.count
        case .chat(let stored): Self.estimatedBytes(stored)
        case .history(let messages, _): messages.reduce(64) { $0 + Self.estimatedBytes($1) }
        case .roster(let entries): 64 + 128 * entries.count
        case .hold(let text): 64 + text.utf8.count
        case .admitted(let ice): 256 + ice.iceServers.reduce(0) { $0 + 512 + 256 * $1.urls.count }
        default: 512
        }
    }

    private static func estimatedBytes(_ stored: StoredChat) -> Int {
        320 + stored.copy.ciphertext.utf8.count
    }

    public struct Welcome: Sendable, Equatable {
        public var you: Member
        public var consultation: ConsultationInfo
        public var resume: ResumeToken

        public init(you: Member, consultation: ConsultationInfo, resume: ResumeToken) {
            self.you = you
            self.consultation = consultation
            self.resume = resume
        }
    }

    /// What a participant learns about the consultation. The title is the
    /// veileder's own note and goes to the veileder only.
    public struct ConsultationInfo: Sendable, Equatable, Codable {
        public var id: ConsultationID
        public var expiresAt: Date
        public var title: String?
        /// The booked time, for everyone: the lobby says when it starts.
        public var booking: Booking?
        public init(id: ConsultationID, expiresAt: Date, title: String?, booking: Booking? = nil) {
            self.id = id
            self.expiresAt = expiresAt
            self.title = title
            self.booking = booking
        }
    }

    public struct IceConfiguration: Sendable, Equatable {
        public var iceServers: [IceServer]
        /// How browsers must build their peer connections: `relay` hides every IP address.
        public var iceTransportPolicy: IceTransportPolicy
        public init(iceServers: [IceServer], iceTransportPolicy: IceTransportPolicy) {
            self.iceServers = iceServers
            self.iceTransportPolicy = iceTransportPolicy
        }
    }

    public struct RosterEntry: Sendable, Equatable {
        public var member: Member
        /// Null on the wire until the participant announced a key.
        public var keyId: String?
        public init(member: Member, keyId: String?) {
            self.member = member
            self.keyId = keyId
        }
    }

    public struct KeyAnnouncement: Sendable, Equatable {
        public var from: Member
        public var publicKey: String
        public var keyId: String
        /// This participant announced another key before (a new device, or new keys).
        public var changed: Bool
        public init(from: Member, publicKey: String, keyId: String, changed: Bool) {
            self.from = from
            self.publicKey = publicKey
            self.keyId = keyId
            self.changed = changed
        }
    }

    public struct Moved: Sendable, Equatable {
        /// The instance that holds the call (the load balancer's server name).
        public var instance: String
        /// The consultation's route key, for the load balancer's hash.
        public var route: RouteKey
        /// 0 to go at once; more while the holder cannot be reached and its lease runs out.
        public var retryAfterMs: Int
        public init(instance: String, route: RouteKey, retryAfterMs: Int) {
            self.instance = instance
            self.route = route
            self.retryAfterMs = retryAfterMs
        }
    }

    public var type: String {
        switch self {
        case .welcome: "welcome"
        case .lobby: "lobby"
        case .hold: "hold"
        case .knock: "knock"
        case .lobbyLeft: "lobby-left"
        case .admitted: "admitted"
        case .denied: "denied"
        case .roster: "roster"
        case .key: "key"
        case .signal: "signal"
        case .chat: "chat"
        case .chatAck: "chat-ack"
        case .history: "history"
        case .ended: "ended"
        case .pong: "pong"
        case .error: "error"
        case .moved: "moved"
        }
    }

    private enum Key: String, CodingKey {
        case type, v, you, consultation, resume, participant, role, iceServers, iceTransportPolicy, participants, text, identified, method, level
        case from, publicKey, keyId, changed, senderKeyId, recipientKeyId, nonce, box
        case senderRole, clientMsgId, ciphertext, seq, storedAt, messages, more, code, message
        case id, expiresAt, title, booking, startsAt, minutes, opensAt
        case instance, route, retryAfterMs
    }

    public func encode(to encoder: any Encoder) throws {
        var keys = encoder.container(keyedBy: Key.self)
        try keys.encode(type, forKey: .type)
        switch self {
        case .welcome(let welcome):
            try keys.encode(ClientMessage.protocolVersion, forKey: .v)
            try keys.encode(welcome.you, forKey: .you)
            var info = keys.nestedContainer(keyedBy: Key.self, forKey: .consultation)
            try info.encode(welcome.consultation.id, forKey: .id)
            try info.encode(Self.timestamp(welcome.consultation.expiresAt), forKey: .expiresAt)
            try info.encodeIfPresent(welcome.consultation.title, forKey: .title)
            try keys.encode(welcome.resume.encoded, forKey: .resume)
            if let booking = welcome.consultation.booking {
                var booked = keys.nestedContainer(keyedBy: Key.self, forKey: .booking)
                try booked.encode(Self.timestamp(booking.startsAt), forKey: .startsAt)
                try booked.encode(booking.minutes, forKey: .minutes)
            } else {
                try keys.encodeNil(forKey: .booking)
            }
        case .knock(let member, let identified):
            try keys.encode(member.participant, forKey: .participant)
            try keys.encode(member.role, forKey: .role)
            if let identified {
                var proof = keys.nestedContainer(keyedBy: Key.self, forKey: .identified)
                try proof.encode("id-porten", forKey: .method)
                try proof.encode(identified.level, forKey: .level)
            }
        case .lobbyLeft(let participant):
            try keys.encode(participant, forKey: .participant)
        case .hold(let text):
            try keys.encode(text, forKey: .text)
        case .admitted(let ice):
            try keys.encode(ice.iceServers, forKey: .iceServers)
            try keys.encode(ice.iceTransportPolicy, forKey: .iceTransportPolicy)
        case .roster(let entries):
            var list = keys.nestedUnkeyedContainer(forKey: .participants)
            for entry in entries {
                var item = list.nestedContainer(keyedBy: Key.self)
                try item.encode(entry.member.participant, forKey: .participant)
                try item.encode(entry.member.role, forKey: .role)
                if let keyId = entry.keyId { try item.encode(keyId, forKey: .keyId) } else { try item.encodeNil(forKey: .keyId) }
            }
        case .key(let announcement):
            try keys.encode(announcement.from.participant, forKey: .from)
            try keys.encode(announcement.from.role, forKey: .role)
            try keys.encode(announcement.publicKey, forKey: .publicKey)
            try keys.encode(announcement.keyId, forKey: .keyId)
            try keys.encode(announcement.changed, forKey: .changed)
        case .signal(let from, let signal):
            try keys.encode(from, forKey: .from)
            try signal.encode(to: encoder)
        case .chat(let stored):
            try Self.encode(stored, into: &keys)
        case .chatAck(let clientMsgId, let seq):
            try keys.encode(clientMsgId, forKey: .clientMsgId)
            try keys.encode(seq, forKey: .seq)
        case .history(let messages, let more):
            var list = keys.nestedUnkeyedContainer(forKey: .messages)
            for stored in messages {
                var item = list.nestedContainer(keyedBy: Key.self)
                try Self.encode(stored, into: &item)
            }
            try keys.encode(more, forKey: .more)
        case .error(let error):
            try keys.encode(error.code, forKey: .code)
            try keys.encode(error.message, forKey: .message)
            if let lobby = error.lobbyOpens {
                try keys.encode(Self.timestamp(lobby.startsAt), forKey: .startsAt)
                try keys.encode(Self.timestamp(lobby.opensAt), forKey: .opensAt)
            }
        case .moved(let moved):
            try keys.encode(moved.instance, forKey: .instance)
            try keys.encode(moved.route.rawValue, forKey: .route)
            try keys.encode(moved.retryAfterMs, forKey: .retryAfterMs)
        case .lobby, .denied, .ended, .pong:
            break
        }
    }

    /// A chat copy as relayed and in history: the same fields in both.
    private static func encode(_ stored: StoredChat, into keys: inout KeyedEncodingContainer<Key>) throws {
        try keys.encode(stored.from, forKey: .from)
        try keys.encode(stored.senderRole, forKey: .senderRole)
        try keys.encode(stored.clientMsgId, forKey: .clientMsgId)
        try keys.encode(stored.senderKeyId, forKey: .senderKeyId)
        try keys.encode(stored.copy.recipientKeyId, forKey: .recipientKeyId)
        try keys.encode(stored.copy.nonce, forKey: .nonce)
        try keys.encode(stored.copy.ciphertext, forKey: .ciphertext)
        try keys.encode(stored.seq, forKey: .seq)
        try keys.encode(timestamp(stored.storedAt), forKey: .storedAt)
    }

    /// The JSON text frame.
    public func encoded() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings, numbers, booleans and ids only: encoding cannot fail.
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }

    /// UTC, RFC 3339 with milliseconds.
    public static func timestamp(_ date: Date) -> String { AuditEntry.timestamp(date) }
}
