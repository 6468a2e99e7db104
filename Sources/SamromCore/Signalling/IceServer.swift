/// An entry of `RTCConfiguration.iceServers`, sent in `admitted`.
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
/// `relay` makes browsers use only TURN relay candidates: the participants
/// never learn each other's IP address, at the price of all media passing the
/// relay (which sees only SRTP). It needs TURN configured.
public enum IceTransportPolicy: String, Sendable, Equatable, Codable, CaseIterable {
    case all
    case relay
}
