import Foundation

/// The signalling hot path's typed shapes: offer, answer and ICE as they
/// arrive and as they are relayed. Nearly every frame in a call is one of
/// these, so they are decoded and encoded with `Codable` structs, which
/// Foundation does several times faster than the field-by-field `JSONValue`
/// walk that `ClientMessage.decode` uses to give precise errors (see
/// docs/benchmarks.md). Anything that does not fit here exactly takes that
/// walk instead, so the answers to bad frames are the same as ever.
enum RelayFrame {
    /// An incoming frame, if it is a well-formed offer, answer or ICE
    /// candidate; nil sends it the long way (other types, or any fault).
    static func decode(_ data: Data) -> ClientMessage? {
        guard let frame = try? JSONDecoder().decode(Incoming.self, from: data) else { return nil }
        switch frame.type {
        case "offer", "answer":
            guard let sdp = frame.sdp, sdp.utf8.count <= ClientMessage.maxSDPBytes, sdp.hasPrefix("v=0") else { return nil }
            return frame.type == "offer" ? .offer(sdp: sdp) : .answer(sdp: sdp)
        case "ice":
            guard let candidate = try? frame.candidate?.validated() else { return nil }
            return .ice(candidate)
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

    private static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings and small integers only: encoding cannot fail.
        return String(decoding: try! encoder.encode(value), as: UTF8.self)
    }

    private struct Incoming: Decodable {
        var type: String
        var sdp: String?
        var candidate: IceCandidate?
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
}
