import Foundation

/// The hot path's typed shapes: offer, answer, ICE and chat envelopes as they
/// arrive and as they are relayed (and the chat's ack). Nearly every frame in
/// a call is one of these, so they are decoded and encoded with `Codable`
/// structs, which Foundation does two to three times faster for ICE and chat
/// frames (a little faster for an offer's long SDP) than the field-by-field
/// `JSONValue` walk that `ClientMessage.decode` uses to give precise errors
/// (docs/benchmarks.md). Anything that does not fit here exactly takes that
/// walk instead, so the answers to bad frames are the same as ever.
enum RelayFrame {
    /// An incoming frame, if it is a well-formed offer, answer, ICE candidate
    /// or chat envelope; nil sends it the long way (other types, or any fault).
    static func decode(_ data: Data) -> ClientMessage? {
        guard let frame = try? JSONDecoder().decode(Incoming.self, from: data) else { return nil }
        switch frame.type {
        case "offer", "answer":
            guard let sdp = frame.sdp, sdp.utf8.count <= ClientMessage.maxSDPBytes, sdp.hasPrefix("v=0") else { return nil }
            return frame.type == "offer" ? .offer(sdp: sdp) : .answer(sdp: sdp)
        case "ice":
            guard let candidate = try? frame.candidate?.validated() else { return nil }
            return .ice(candidate)
        case "chat":
            guard let envelope = try? frame.envelope?.validated() else { return nil }
            return .chat(envelope)
        default:
            return nil
        }
    }

    /// The relayed frame's JSON text, as `ServerMessage.encoded()` writes
    /// every message: sorted keys, slashes unescaped.
    static func encode(_ type: String, from: ParticipantID, sdp: String) -> String {
        encode(Session(type: type, from: from.rawValue, sdp: sdp))
    }

    static func encode(from: ParticipantID, candidate: IceCandidate) -> String {
        encode(Candidate(from: from.rawValue, candidate: candidate))
    }

    static func encode(from: ParticipantID, chat stored: StoredChat) -> String {
        encode(Chat(from: from.rawValue, stored: stored))
    }

    static func encode(ack clientMsgId: String, seq: UInt64) -> String {
        encode(Ack(clientMsgId: clientMsgId, seq: seq))
    }

    private static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings and integers only: encoding cannot fail.
        return String(decoding: try! encoder.encode(value), as: UTF8.self)
    }

    /// Reads `type` first, then only that type's keys (required there), so an
    /// ICE frame is not searched for the chat envelope's five keys; keys of
    /// other types are ignored, as the field-by-field path ignores them.
    private struct Incoming: Decodable {
        var type: String
        var sdp: String?
        var candidate: IceCandidate?
        var envelope: ChatEnvelope?

        private enum CodingKeys: String, CodingKey {
            case type, sdp, candidate
        }

        init(from decoder: any Decoder) throws {
            let keys = try decoder.container(keyedBy: CodingKeys.self)
            type = try keys.decode(String.self, forKey: .type)
            switch type {
            case "offer", "answer":
                sdp = try keys.decode(String.self, forKey: .sdp)
            case "ice":
                candidate = try keys.decode(IceCandidate.self, forKey: .candidate)
            case "chat":
                // The envelope's five fields sit beside `type` in the same object.
                envelope = try ChatEnvelope(from: decoder)
            default:
                break
            }
        }
    }

    private struct Session: Encodable {
        var type: String
        var from: String
        var sdp: String
    }

    private struct Candidate: Encodable {
        var type = "ice"
        var from: String
        var candidate: IceCandidate
    }

    /// The envelope's fields and the server's, in one object.
    private struct Chat: Encodable {
        var from: String
        var stored: StoredChat

        private enum CodingKeys: String, CodingKey {
            case type, from, seq, senderRole, storedAt
        }

        func encode(to encoder: any Encoder) throws {
            try stored.envelope.encode(to: encoder)
            var keys = encoder.container(keyedBy: CodingKeys.self)
            try keys.encode("chat", forKey: .type)
            try keys.encode(from, forKey: .from)
            try keys.encode(stored.seq, forKey: .seq)
            try keys.encode(stored.senderRole.rawValue, forKey: .senderRole)
            try keys.encode(ServerMessage.timestamp(stored.storedAt), forKey: .storedAt)
        }
    }

    private struct Ack: Encodable {
        var type = "chat-ack"
        var clientMsgId: String
        var seq: UInt64
    }
}
