import Foundation
import Sodium

/// One OpenID Connect login on its way through the identity provider: the
/// `state` that binds the provider's answer to this browser, the `nonce`
/// the ID token must carry, and the PKCE verifier (RFC 7636) the code is
/// redeemed with. Kept in the browser only, sealed (`CookieSealer`)
/// in a short-lived cookie, so the answer may reach any instance.
public struct OpenIDAttempt: Sendable, Codable, Equatable {
    /// What the login is for: a staff session, or a deltaker's identity
    /// before knocking (with `--id-porten-*`).
    public enum Purpose: String, Sendable, Codable {
        case staff
        case knock
    }

    /// How long the person has at the provider.
    public static let lifetime: TimeInterval = 600

    public let purpose: Purpose
    public let state: String
    public let nonce: String
    public let verifier: String
    public let expiresAt: Date
    /// Where the browser goes back to afterwards (a knock's join page).
    public let returnTo: String?

    public init(purpose: Purpose, state: String, nonce: String, verifier: String, expiresAt: Date, returnTo: String? = nil) {
        self.purpose = purpose
        self.state = state
        self.nonce = nonce
        self.verifier = verifier
        self.expiresAt = expiresAt
        self.returnTo = returnTo
    }

    /// Fresh random values (32 bytes each, base64url).
    public static func start(_ purpose: Purpose, now: Date, returnTo: String? = nil) -> OpenIDAttempt {
        OpenIDAttempt(
            purpose: purpose, state: Base64URL.encode(Random.bytes(32)), nonce: Base64URL.encode(Random.bytes(32)),
            verifier: Base64URL.encode(Random.bytes(32)), expiresAt: now.addingTimeInterval(lifetime), returnTo: returnTo)
    }

    /// A join page of this server, as a knock's `return`: `/j/`, with the
    /// route key of a call behind a load balancer (`/j/?r=…`). Anything
    /// else could send the browser elsewhere after the provider.
    public static func isJoinPage(_ path: String) -> Bool {
        path == "/j/" || path.wholeMatch(of: /\/j\/\?r=[A-Za-z0-9_-]{22}/) != nil
    }

    /// RFC 7636 §4.2, S256: base64url(SHA-256(verifier)).
    public var codeChallenge: String { Base64URL.encode(SHA256.hash(Array(verifier.utf8))) }

    /// The provider's answer belongs to this attempt: same `state` (in
    /// constant time), not too late, and for this purpose.
    public func accepts(state returned: String, for purpose: Purpose, now: Date) -> Bool {
        self.purpose == purpose && now < expiresAt && ConstantTime.equals(Array(state.utf8), Array(returned.utf8))
    }
}
