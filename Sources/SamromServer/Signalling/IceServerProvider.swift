import Crypto
import Foundation
import SamromCore

/// The ICE servers a participant is given in `admitted`, and the transport
/// policy (`all`, or `relay` only) their browser must use.
///
/// No public STUN server, ever: without TURN configured the list is empty and
/// browsers use their host candidates (enough on one network). With coturn's
/// `use-auth-secret`, each participant gets TURN REST API credentials:
/// username `<unix expiry>:<participant>`, credential
/// `base64(HMAC-SHA1(secret, username))` (HMAC-SHA1 is what coturn checks;
/// libsodium has no SHA-1, so swift-crypto does it).
public struct IceServerProvider: Sendable {
    let urls: [String]
    let secret: [UInt8]?
    let lifetime: TimeInterval
    public let transportPolicy: IceTransportPolicy

    public init(urls: [String], secret: [UInt8]?, lifetime: TimeInterval, transportPolicy: IceTransportPolicy = .all) {
        self.urls = urls
        self.secret = secret
        // Credentials go out in `admitted` and are valid at most an hour.
        self.lifetime = min(lifetime, 3600)
        self.transportPolicy = transportPolicy
    }

    public static let none = IceServerProvider(urls: [], secret: nil, lifetime: 0)

    /// How long after an `admitted` a participant still in the call gets
    /// another with fresh credentials (before the old ones expire); nil
    /// without TURN, where there is nothing to renew.
    public var renewal: TimeInterval? {
        guard !urls.isEmpty, secret != nil else { return nil }
        return lifetime * 0.75
    }

    public func servers(for participant: ParticipantID, now: Date) -> [IceServer] {
        guard !urls.isEmpty, let secret else { return [] }
        let expiry = Int(now.timeIntervalSince1970 + lifetime)
        let (username, credential) = Self.restCredentials(for: participant.rawValue, expiry: expiry, secret: secret)
        return [IceServer(urls: urls, username: username, credential: credential)]
    }

    /// TURN REST API credentials as coturn's `use-auth-secret` checks them,
    /// for browsers and for `samrom doctor` alike: username
    /// `<unix expiry>:<name>`, credential `base64(HMAC-SHA1(secret, username))`.
    public static func restCredentials(for name: String, expiry: Int, secret: [UInt8]) -> (username: String, credential: String) {
        let username = "\(expiry):\(name)"
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Data(username.utf8), using: SymmetricKey(data: secret))
        return (username, Data(mac).base64EncodedString())
    }

    /// Accepts `turn:` and `turns:` URLs only (RFC 7065), so a typo cannot
    /// point browsers at something else.
    public static func isValidTurnURL(_ url: String) -> Bool {
        (url.hasPrefix("turn:") || url.hasPrefix("turns:")) && url.count < 256
            && !url.contains(where: { $0.isWhitespace || $0 == "\"" })
    }
}
