import Foundation

/// What a `signal` box holds, as JSON with a `"kind"`: call set-up the server
/// never sees. Unknown kinds are kept as `.unknown` and ignored by clients.
public enum SignalPayload: Sendable, Equatable {
    case offer(sdp: String)
    case answer(sdp: String)
    /// Nil: the end of candidates.
    case ice(IceCandidate?)
    /// Whether the sender sends a picture now (camera on, or a screen), and
    /// whether its microphone is on (nil: not said; `audio` came later, and is
    /// left out of the JSON then).
    case media(video: Bool, audio: Bool? = nil)
    /// The display name the sender chose, for the others' participant list.
    case profile(name: String)
    /// The call code's first step: a commitment to a fresh nonce for the key set `keys`.
    case commit(keys: String, commitment: String)
    /// The call code's second step: the nonce committed to.
    case reveal(keys: String, nonce: String)
    case unknown(kind: String)

    /// An ICE candidate as `RTCIceCandidateInit` serialises it.
    public struct IceCandidate: Sendable, Equatable, Codable {
        public var candidate: String
        public var sdpMid: String?
        public var sdpMLineIndex: Int?
        public var usernameFragment: String?

        public init(candidate: String, sdpMid: String? = nil, sdpMLineIndex: Int? = nil, usernameFragment: String? = nil) {
            self.candidate = candidate
            self.sdpMid = sdpMid
            self.sdpMLineIndex = sdpMLineIndex
            self.usernameFragment = usernameFragment
        }
    }

    private struct Wire: Codable {
        var kind: String
        var sdp: String?
        var candidate: IceCandidate?
        var video: Bool?
        var audio: Bool?
        var name: String?
        var keys: String?
        var commitment: String?
        var nonce: String?

        init(kind: String) {
            self.kind = kind
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            kind = try container.decode(String.self, forKey: .kind)
            sdp = try container.decodeIfPresent(String.self, forKey: .sdp)
            candidate = try container.decodeIfPresent(IceCandidate.self, forKey: .candidate)
            video = try container.decodeIfPresent(Bool.self, forKey: .video)
            // Optional and later than the rest: anything but a boolean is
            // dropped rather than refused, as the browser client does.
            audio = try? container.decodeIfPresent(Bool.self, forKey: .audio)
            name = try container.decodeIfPresent(String.self, forKey: .name)
            keys = try container.decodeIfPresent(String.self, forKey: .keys)
            commitment = try container.decodeIfPresent(String.self, forKey: .commitment)
            nonce = try container.decodeIfPresent(String.self, forKey: .nonce)
        }
    }

    public func json() throws -> [UInt8] {
        var wire = Wire(kind: "")
        switch self {
        case .offer(let sdp): (wire.kind, wire.sdp) = ("offer", sdp)
        case .answer(let sdp): (wire.kind, wire.sdp) = ("answer", sdp)
        case .ice(let candidate): (wire.kind, wire.candidate) = ("ice", candidate)
        case .media(let video, let audio): (wire.kind, wire.video, wire.audio) = ("media", video, audio)
        case .profile(let name): (wire.kind, wire.name) = ("profile", name)
        case .commit(let keys, let commitment): (wire.kind, wire.keys, wire.commitment) = ("commit", keys, commitment)
        case .reveal(let keys, let nonce): (wire.kind, wire.keys, wire.nonce) = ("reveal", keys, nonce)
        case .unknown(let kind): wire.kind = kind
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(wire))
    }

    public init(json: [UInt8]) throws {
        let wire = try JSONDecoder().decode(Wire.self, from: Data(json))
        struct Missing: Error { let field: String }
        switch wire.kind {
        case "offer", "answer":
            guard let sdp = wire.sdp else { throw Missing(field: "sdp") }
            self = wire.kind == "offer" ? .offer(sdp: sdp) : .answer(sdp: sdp)
        case "ice": self = .ice(wire.candidate)
        case "media":
            guard let video = wire.video else { throw Missing(field: "video") }
            self = .media(video: video, audio: wire.audio)
        case "profile":
            guard let name = wire.name else { throw Missing(field: "name") }
            self = .profile(name: name)
        case "commit":
            guard let keys = wire.keys, let commitment = wire.commitment else { throw Missing(field: "commitment") }
            self = .commit(keys: keys, commitment: commitment)
        case "reveal":
            guard let keys = wire.keys, let nonce = wire.nonce else { throw Missing(field: "nonce") }
            self = .reveal(keys: keys, nonce: nonce)
        default:
            self = .unknown(kind: wire.kind)
        }
    }
}
