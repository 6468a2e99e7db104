import Foundation

/// One OpenID Connect provider Samrom is a client of: the municipality's
/// identity provider for staff (`--oidc-*`), or ID-porten for deltakere
/// (`--id-porten-*`).
public struct OpenIDSettings: Sendable, Equatable {
    /// The issuer URL exactly as the provider names itself (`iss`);
    /// `/.well-known/openid-configuration` is read below it.
    public var issuer: String
    public var clientID: String
    /// A file holding the client secret (client_secret_basic).
    public var clientSecretFile: String
    /// The claim whose value is matched to a local account (staff login).
    public var claim: String
    public var scopes: [String]
    /// `acr_values` asked for, and the `acr` the ID token must carry.
    public var requiredACR: String?
    /// What the login button says ("Logg inn med …").
    public var displayName: String
    /// A PEM file of CA certificates to trust for this provider besides
    /// the system's (a municipality's internal PKI; the tests' own CA).
    public var caFile: String?

    public init(
        issuer: String, clientID: String, clientSecretFile: String, claim: String = "email", scopes: [String] = ["openid", "email"],
        requiredACR: String? = nil, displayName: String, caFile: String? = nil
    ) {
        self.issuer = issuer
        self.clientID = clientID
        self.clientSecretFile = clientSecretFile
        self.claim = claim
        self.scopes = scopes
        self.requiredACR = requiredACR
        self.displayName = displayName
        self.caFile = caFile
    }

    /// What is wrong with these settings, in words; nil when they will do.
    public var problem: String? {
        guard let url = URL(string: issuer), url.scheme == "https", url.host != nil, url.query == nil, url.fragment == nil else {
            return "the issuer must be an https URL without query or fragment"
        }
        guard (1...255).contains(clientID.utf8.count), !clientID.contains(where: { $0.isWhitespace }) else {
            return "the client id must be 1 to 255 characters without spaces"
        }
        guard (1...128).contains(claim.utf8.count) else { return "the claim name must be 1 to 128 characters" }
        guard scopes.contains("openid") else { return "the scopes must include openid" }
        guard (1...64).contains(displayName.count) else { return "the display name must be 1 to 64 characters" }
        return nil
    }
}
