import Foundation
import Sodium

/// The claims of an ID token whose signature and audience have been
/// verified (jwt-kit, against the provider's JWKS), and the rest of OpenID
/// Connect Core §3.1.3.7 as a value: issuer, expiry, issue time, nonce,
/// authorized party and, for ID-porten, the assurance level.
public struct IDTokenCheck: Sendable {
    public struct Claims: Sendable, Equatable {
        public var issuer: String?
        public var audiences: [String]
        public var authorizedParty: String?
        public var expiresAt: Date?
        public var issuedAt: Date?
        public var nonce: String?
        public var acr: String?

        public init(
            issuer: String?, audiences: [String], authorizedParty: String?, expiresAt: Date?, issuedAt: Date?, nonce: String?,
            acr: String?
        ) {
            self.issuer = issuer
            self.audiences = audiences
            self.authorizedParty = authorizedParty
            self.expiresAt = expiresAt
            self.issuedAt = issuedAt
            self.nonce = nonce
            self.acr = acr
        }
    }

    public var issuer: String
    public var clientID: String
    public var nonce: String
    /// With ID-porten: `idporten-loa-high`.
    public var requiredACR: String?
    /// Clock difference allowed between the provider and this server.
    public var leeway: TimeInterval = 60

    public init(issuer: String, clientID: String, nonce: String, requiredACR: String? = nil) {
        self.issuer = issuer
        self.clientID = clientID
        self.nonce = nonce
        self.requiredACR = requiredACR
    }

    /// Nil when the token may be used; otherwise why not, in words for the
    /// audit entry (never a claim's value).
    public func refusal(_ claims: Claims, now: Date) -> String? {
        guard claims.issuer == issuer else { return "the ID token is from another issuer" }
        guard claims.audiences.contains(clientID) else { return "the ID token is for another client" }
        if claims.audiences.count > 1 || claims.authorizedParty != nil, claims.authorizedParty != clientID {
            return "the ID token was presented for another client"
        }
        guard let expiresAt = claims.expiresAt, now < expiresAt.addingTimeInterval(leeway) else { return "the ID token has expired" }
        guard let issuedAt = claims.issuedAt, issuedAt < now.addingTimeInterval(leeway) else {
            return "the ID token is issued in the future"
        }
        guard let returned = claims.nonce, ConstantTime.equals(Array(returned.utf8), Array(nonce.utf8)) else {
            return "the ID token's nonce does not match"
        }
        if let requiredACR, claims.acr != requiredACR { return "the ID token's assurance level is not \(requiredACR)" }
        return nil
    }
}
