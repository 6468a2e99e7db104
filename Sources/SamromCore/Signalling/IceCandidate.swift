/// An ICE candidate as `RTCIceCandidateInit` serialises it. Relayed as is.
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

    static let maxCandidateBytes = 2048

    func validated() throws(SignalError) -> IceCandidate {
        guard candidate.utf8.count <= IceCandidate.maxCandidateBytes else {
            throw SignalError(.tooLarge, "candidate is longer than \(IceCandidate.maxCandidateBytes) bytes")
        }
        // An empty candidate string means "end of candidates" in browsers.
        guard candidate.isEmpty || candidate.hasPrefix("candidate:") else {
            throw SignalError(.badField, "candidate.candidate must start with \"candidate:\"")
        }
        if let sdpMid, sdpMid.utf8.count > 64 { throw SignalError(.badField, "candidate.sdpMid is too long") }
        if let sdpMLineIndex, !(0...1023).contains(sdpMLineIndex) {
            throw SignalError(.badField, "candidate.sdpMLineIndex is out of range")
        }
        if let usernameFragment, usernameFragment.utf8.count > 256 {
            throw SignalError(.badField, "candidate.usernameFragment is too long")
        }
        return self
    }
}

/// An entry of `RTCConfiguration.iceServers`.
public struct IceServer: Sendable, Equatable, Codable {
    public var urls: [String]
    public var username: String?
    public var credential: String?

    public init(urls: [String], username: String? = nil, credential: String? = nil) {
        self.urls = urls
        self.username = username
        self.credential = credential
    }
}

/// `RTCConfiguration.iceTransportPolicy`, chosen by the operator for every call.
/// `relay` makes browsers use only TURN relay candidates: the two participants
/// never learn each other's IP address, at the price of all media passing the
/// relay (which sees only SRTP). It needs TURN configured.
public enum IceTransportPolicy: String, Sendable, Equatable, Codable, CaseIterable {
    case all
    case relay
}
