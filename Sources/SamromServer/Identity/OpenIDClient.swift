import AsyncHTTPClient
import Foundation
import JWTKit
import NIOCore
import NIOHTTP1
import NIOSSL
import SamromCore
import Sodium

/// An OpenID Connect relying party for one provider: discovery, the
/// authorization URL (code flow with PKCE and nonce), redeeming the code at
/// the token endpoint, and the ID token verified against the provider's
/// JWKS with jwt-kit, then checked (`IDTokenCheck`). Talks to the provider
/// only over HTTPS, never follows redirects, and bounds every answer.
actor OpenIDClient {
    let settings: OpenIDSettings
    private let secret: String
    private let http: HTTPClient
    private let clock: WallClock

    struct Metadata: Decodable, Sendable {
        let issuer: String
        let authorizationEndpoint: String
        let tokenEndpoint: String
        let jwksURI: String

        enum CodingKeys: String, CodingKey {
            case issuer
            case authorizationEndpoint = "authorization_endpoint"
            case tokenEndpoint = "token_endpoint"
            case jwksURI = "jwks_uri"
        }
    }

    private var metadata: (value: Metadata, at: Date)?
    private var keys: (collection: JWTKeyCollection, at: Date)?

    /// Why a login through the provider did not happen, in words for the
    /// audit entry; `code` for the page.
    struct Failure: Error, CustomStringConvertible {
        enum Code: String { case unavailable = "oidc-unavailable", refused = "oidc-refused", invalidToken = "oidc-token" }
        let code: Code
        let description: String
    }

    init(settings: OpenIDSettings, clock: WallClock) throws {
        self.settings = settings
        self.clock = clock
        guard let data = FileManager.default.contents(atPath: settings.clientSecretFile) else {
            throw SamromApp.StartupFailure(description: "cannot read the OpenID Connect client secret file \(settings.clientSecretFile)")
        }
        secret = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !secret.isEmpty else {
            throw SamromApp.StartupFailure(description: "the OpenID Connect client secret file \(settings.clientSecretFile) is empty")
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile = settings.caFile {
            guard FileManager.default.isReadableFile(atPath: caFile) else {
                throw SamromApp.StartupFailure(description: "cannot read the CA file \(caFile)")
            }
            tls.additionalTrustRoots = [.file(caFile)]
        }
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(5), read: .seconds(10)))
        configuration.httpVersion = .http1Only
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func shutdown() async {
        try? await http.shutdown()
    }

    // MARK: The flow

    /// Where to send the browser: the provider's authorization endpoint
    /// with this attempt's state, nonce and PKCE challenge.
    func authorizationURL(for attempt: OpenIDAttempt, redirectURI: String) async throws(Failure) -> String {
        let endpoint = try await discovered().authorizationEndpoint
        var items = [
            ("response_type", "code"), ("client_id", settings.clientID), ("redirect_uri", redirectURI),
            ("scope", settings.scopes.joined(separator: " ")), ("state", attempt.state), ("nonce", attempt.nonce),
            ("code_challenge", attempt.codeChallenge), ("code_challenge_method", "S256"),
        ]
        if let acr = settings.requiredACR { items.append(("acr_values", acr)) }
        let query = items.map { "\($0.0)=\(Self.formEncoded($0.1))" }.joined(separator: "&")
        return endpoint + (endpoint.contains("?") ? "&" : "?") + query
    }

    /// Redeems the code (with the PKCE verifier) and verifies the ID token
    /// it is answered with.
    func idToken(code: String, attempt: OpenIDAttempt, redirectURI: String) async throws(Failure) -> IDToken {
        let endpoint = try await discovered().tokenEndpoint
        let body = [
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI), ("code_verifier", attempt.verifier),
        ].map { "\($0.0)=\(Self.formEncoded($0.1))" }.joined(separator: "&")
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        // RFC 6749 §2.3.1: client_secret_basic, each part form-encoded first.
        let credentials = Self.formEncoded(settings.clientID) + ":" + Self.formEncoded(secret)
        request.headers.add(name: "Authorization", value: "Basic " + Data(credentials.utf8).base64EncodedString())
        request.body = .bytes(ByteBuffer(string: body))
        let (status, data) = try await send(request, what: "the token endpoint")
        struct Answer: Decodable {
            let idToken: String?
            let error: String?
            enum CodingKeys: String, CodingKey {
                case idToken = "id_token"
                case error
            }
        }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: data) else {
            throw Failure(code: .unavailable, description: "the token endpoint answered \(status) without JSON")
        }
        guard status == 200, let token = answer.idToken else {
            // RFC 6749 §5.2: invalid_grant is a code used already, expired or not ours.
            let error = answer.error.map { $0.prefix(64).filter { $0.isLetter || $0 == "_" } } ?? "no id_token"
            throw Failure(code: .refused, description: "the provider refused the code (\(error))")
        }
        return try await verify(token, nonce: attempt.nonce)
    }

    /// Signature (and audience) by jwt-kit against the provider's keys,
    /// fetched again once if the token names a key not seen yet; then the
    /// rest of the checks at this server's time.
    func verify(_ token: String, nonce: String) async throws(Failure) -> IDToken {
        guard token.utf8.count <= 16 * 1024 else { throw Failure(code: .invalidToken, description: "the ID token is too large") }
        let verified: IDToken
        do {
            verified = try await keyCollection(fresh: false).verify(token, as: IDToken.self, expectedAudience: settings.clientID)
        } catch {
            guard let fetchedAt = keys?.at, clock.now.timeIntervalSince(fetchedAt) > 60 else {
                throw Self.tokenFailure(error)
            }
            do {
                verified = try await keyCollection(fresh: true).verify(token, as: IDToken.self, expectedAudience: settings.clientID)
            } catch {
                throw Self.tokenFailure(error)
            }
        }
        let check = IDTokenCheck(issuer: settings.issuer, clientID: settings.clientID, nonce: nonce, requiredACR: settings.requiredACR)
        if let refusal = check.refusal(verified.facts, now: clock.now) {
            throw Failure(code: .invalidToken, description: refusal)
        }
        return verified
    }

    private static func tokenFailure(_ error: any Error) -> Failure {
        if let failure = error as? Failure { return failure }
        if let jwt = error as? JWTError, jwt.errorType == .claimVerificationFailure {
            return Failure(code: .invalidToken, description: "the ID token is for another client")
        }
        return Failure(code: .invalidToken, description: "the ID token's signature is not valid for the provider's keys")
    }

    // MARK: Discovery and keys

    private func discovered() async throws(Failure) -> Metadata {
        if let metadata, clock.now.timeIntervalSince(metadata.at) < 3600 { return metadata.value }
        let base = settings.issuer.hasSuffix("/") ? String(settings.issuer.dropLast()) : settings.issuer
        let (status, data) = try await send(HTTPClientRequest(url: base + "/.well-known/openid-configuration"), what: "discovery")
        guard status == 200, let value = try? JSONDecoder().decode(Metadata.self, from: data) else {
            throw Failure(code: .unavailable, description: "the provider's discovery document could not be read (\(status))")
        }
        // OpenID Connect Discovery §4.3: the issuer must be the one configured.
        guard value.issuer == settings.issuer else {
            throw Failure(code: .unavailable, description: "the provider names another issuer than the one configured")
        }
        for endpoint in [value.authorizationEndpoint, value.tokenEndpoint, value.jwksURI] where !endpoint.hasPrefix("https://") {
            throw Failure(code: .unavailable, description: "the provider's endpoints must be https")
        }
        metadata = (value, clock.now)
        return value
    }

    private func keyCollection(fresh: Bool) async throws(Failure) -> JWTKeyCollection {
        if !fresh, let keys, clock.now.timeIntervalSince(keys.at) < 3600 { return keys.collection }
        let uri = try await discovered().jwksURI
        let (status, data) = try await send(HTTPClientRequest(url: uri), what: "the JWKS")
        let collection = JWTKeyCollection()
        do {
            guard status == 200 else { throw Failure(code: .unavailable, description: "the JWKS answered \(status)") }
            try await collection.add(jwks: JSONDecoder().decode(JWKS.self, from: data))
        } catch {
            throw Failure(code: .unavailable, description: "the provider's keys could not be read")
        }
        keys = (collection, clock.now)
        return collection
    }

    private func send(_ request: HTTPClientRequest, what: String) async throws(Failure) -> (UInt, Data) {
        do {
            let response = try await http.execute(request, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 1 << 20)
            return (response.status.code, Data(body.readableBytesView))
        } catch {
            throw Failure(code: .unavailable, description: "\(what) could not be reached")
        }
    }

    /// application/x-www-form-urlencoded, as RFC 6749 Appendix B asks.
    static func formEncoded(_ text: String) -> String {
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }
}

/// An ID token's claims: the standard ones, and every other claim kept
/// as JSON for the configured matching claim. Its `verify` does nothing:
/// the time checks are `IDTokenCheck`'s, at this server's clock.
struct IDToken: JWTIdentityToken {
    let audience: AudienceClaim
    let claims: [String: JSONValue]

    init(from decoder: any Decoder) throws {
        claims = try decoder.singleValueContainer().decode([String: JSONValue].self)
        switch claims["aud"] {
        case .string(let one)?: audience = AudienceClaim(value: [one])
        case .array(let many)?: audience = AudienceClaim(value: many.compactMap { if case .string(let s) = $0 { s } else { nil } })
        default: audience = AudienceClaim(value: [])
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(claims)
    }

    func verify(using algorithm: some JWTAlgorithm) async throws {}

    func string(_ name: String) -> String? {
        if case .string(let value)? = claims[name] { return value }
        return nil
    }

    private func date(_ name: String) -> Date? {
        switch claims[name] {
        case .int(let seconds)?: Date(timeIntervalSince1970: TimeInterval(seconds))
        case .double(let seconds)?: Date(timeIntervalSince1970: seconds)
        default: nil
        }
    }

    var facts: IDTokenCheck.Claims {
        IDTokenCheck.Claims(
            issuer: string("iss"), audiences: audience.value, authorizedParty: string("azp"), expiresAt: date("exp"),
            issuedAt: date("iat"), nonce: string("nonce"), acr: string("acr"))
    }
}
