import Foundation
import HTTPTypes
import Hummingbird
import SamromCore

/// Staff login with the municipality's identity provider (OpenID Connect
/// authorization code flow with PKCE and nonce):
/// `GET /api/session/oidc` sends the browser to the provider with a sealed
/// attempt cookie, and `GET /api/session/oidc/callback` takes the answer,
/// redeems the code, verifies the ID token and opens a session for the
/// local account linked to the configured claim. Every failure lands on the
/// login page with a code (`/#login-error=…`) and an audit entry; nothing
/// is half logged in. `GET /api/session/options` tells the login page.
struct OpenIDController {
    let accounts: AccountService
    let client: OpenIDClient?
    let sealer: OpenIDAttemptSealer?
    let policy: OriginPolicy
    let clock: WallClock

    static let cookieName = "samrom_oidc"
    static let path = "/api/session/oidc"

    struct Options: ResponseEncodable {
        struct Provider: Encodable { let name: String }
        let oidc: Provider?

        // `"oidc": null` rather than nothing, so a client need not guess.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(oidc, forKey: .oidc)
        }
        enum CodingKeys: String, CodingKey { case oidc }
    }

    func register(on router: Router<SamromRequestContext>) {
        router.get("/api/session/options", use: options)
        router.get("/api/session/oidc", use: start)
        router.get("/api/session/oidc/callback", use: callback)
    }

    @Sendable func options(_ request: Request, context: SamromRequestContext) async throws -> Options {
        Options(oidc: client.map { Options.Provider(name: $0.settings.displayName) })
    }

    @Sendable func start(_ request: Request, context: SamromRequestContext) async throws -> Response {
        guard let client, let sealer else { throw APIError.notFound }
        guard let redirect = redirectURI(request) else { throw APIError.badRequest("The Host header is missing or malformed.") }
        let attempt = OpenIDAttempt.start(.staff, now: clock.now)
        do {
            let location = try await client.authorizationURL(for: attempt, redirectURI: redirect)
            var response = Self.redirect(to: location)
            response.headers[.setCookie] = Self.cookie(value: try sealer.seal(attempt), maxAge: Int(OpenIDAttempt.lifetime))
            return response
        } catch let failure as OpenIDClient.Failure {
            try await accounts.auditor.record(
                .login, actor: .anonymous, outcome: .error, reason: "OpenID Connect: \(failure.description)", clientIP: context.clientIP)
            return Self.failed(failure.code.rawValue)
        }
    }

    @Sendable func callback(_ request: Request, context: SamromRequestContext) async throws -> Response {
        guard let client, let sealer else { throw APIError.notFound }
        let query = request.uri.queryParameters
        let attempt = request.cookies[Self.cookieName].flatMap { sealer.open($0.value) }
        guard let attempt, let state = query["state"].map(String.init), attempt.accepts(state: state, for: .staff, now: clock.now)
        else {
            // Not this browser's attempt (or too late): a forged or replayed answer.
            try await accounts.auditor.refused(
                .login, reason: "OpenID Connect: the answer's state does not match this browser's login", clientIP: context.clientIP)
            return Self.failed("oidc-state")
        }
        if query["error"] != nil {
            try await accounts.auditor.record(
                .login, actor: .anonymous, outcome: .denied, reason: "OpenID Connect: the provider answered with an error",
                clientIP: context.clientIP)
            return Self.failed("oidc-denied")
        }
        guard let code = query["code"].map(String.init), (1...2048).contains(code.utf8.count), let redirect = redirectURI(request) else {
            try await accounts.auditor.refused(.login, reason: "OpenID Connect: an answer without a code", clientIP: context.clientIP)
            return Self.failed("oidc-state")
        }
        let claimValue: String
        do {
            let token = try await client.idToken(code: code, attempt: attempt, redirectURI: redirect)
            guard let value = token.string(client.settings.claim) else {
                throw OpenIDClient.Failure(code: .invalidToken, description: "the ID token has no \(client.settings.claim) claim")
            }
            claimValue = value
        } catch let failure as OpenIDClient.Failure {
            try await accounts.auditor.record(
                .login, actor: .anonymous, outcome: failure.code == .unavailable ? .error : .denied,
                reason: "OpenID Connect: \(failure.description)", clientIP: context.clientIP)
            return Self.failed(failure.code.rawValue)
        }
        guard let (account, token) = try await accounts.login(identity: claimValue, provider: client.settings.displayName, clientIP: context.clientIP)
        else { return Self.failed("oidc-no-account") }
        // The personvernombud's page is the log's; everyone else's the list.
        var response = Self.redirect(to: account.role == .privacyOfficer ? "/audit/" : "/")
        response.headers.append(HTTPField(name: .setCookie, value: SessionController.cookie(value: token.encoded, maxAge: accounts.sessionMaxAge)))
        response.headers.append(HTTPField(name: .setCookie, value: Self.cookie(value: "", maxAge: 0)))
        return response
    }

    /// Where the provider sends the browser back: this server's callback.
    private func redirectURI(_ request: Request) -> String? {
        policy.origin(authority: request.head.authority).map { $0 + Self.path + "/callback" }
    }

    /// SameSite=Lax: the provider's answer is a top-level navigation from
    /// its site, on which a Strict cookie would not be sent.
    static func cookie(value: String, maxAge: Int) -> String {
        "\(cookieName)=\(value); Path=\(path); Max-Age=\(maxAge); HttpOnly; Secure; SameSite=Lax"
    }

    static func redirect(to location: String) -> Response {
        var response = Response(status: .seeOther)
        response.headers[.location] = location
        response.headers[.cacheControl] = "no-store"
        return response
    }

    /// Back to the login page, which says what went wrong.
    static func failed(_ code: String) -> Response {
        var response = redirect(to: "/#login-error=" + code)
        response.headers[.setCookie] = cookie(value: "", maxAge: 0)
        return response
    }
}
