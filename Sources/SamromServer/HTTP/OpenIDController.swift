import Foundation
import HTTPTypes
import Hummingbird
import Metrics
import SamromCore

/// Logging in through an OpenID Connect provider (authorization code flow
/// with PKCE and nonce), for two purposes:
/// - staff, with the municipality's identity provider:
///   `GET /api/session/oidc` → the provider → `GET /api/session/oidc/callback`,
///   which opens a session for the local account linked to the configured
///   claim; failures land on `/#login-error=CODE`;
/// - a deltaker before knocking, with ID-porten (`--id-porten-*`):
///   `GET /api/identity/id-porten?return=/j/…` → ID-porten →
///   `GET /api/identity/id-porten/callback`, which keeps only that the
///   person was verified, at the high level, in a sealed cookie the knock's
///   WebSocket upgrade carries; back to the join page with
///   `#id-porten-verified` or `#id-porten-error=CODE`.
/// The attempt (state, nonce, PKCE verifier) is sealed in a SameSite=Lax
/// cookie bound to the browser; every failure has an audit entry, and
/// nothing is half done. `GET /api/session/options` tells the pages.
struct OpenIDController {
    let accounts: AccountService
    let staff: OpenIDClient?
    let idPorten: OpenIDClient?
    let attempts: CookieSealer?
    let verifications: CookieSealer?
    let policy: OriginPolicy
    let clock: WallClock
    let metrics: ServerMetrics

    static let attemptCookie = "samrom_oidc"
    /// Reached from the provider's site (`OriginCheckMiddleware` lets them).
    static let callbacks: Set<String> = [Flow.staff.path + "/callback", Flow.knock.path + "/callback"]
    /// The ID-porten verification, sent only with `/ws` upgrades.
    static let verificationCookie = "samrom_idporten"

    /// One provider's flow.
    struct Flow {
        let purpose: OpenIDAttempt.Purpose
        let path: String

        static let staff = Flow(purpose: .staff, path: "/api/session/oidc")
        static let knock = Flow(purpose: .knock, path: "/api/identity/id-porten")
    }

    struct Options: ResponseEncodable {
        struct Provider: Encodable { let name: String }
        let oidc: Provider?
        let idPorten: Bool

        // `"oidc": null` rather than nothing, so a client need not guess.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(oidc, forKey: .oidc)
            try container.encode(idPorten, forKey: .idPorten)
        }
        enum CodingKeys: String, CodingKey { case oidc, idPorten }
    }

    func register(on router: Router<SamromRequestContext>) {
        router.get("/api/session/options", use: options)
        router.get("/api/session/oidc") { request, context in try await start(.staff, request, context) }
        router.get("/api/session/oidc/callback") { request, context in try await callback(.staff, request, context) }
        router.get("/api/identity/id-porten") { request, context in try await start(.knock, request, context) }
        router.get("/api/identity/id-porten/callback") { request, context in try await callback(.knock, request, context) }
    }

    @Sendable func options(_ request: Request, context: SamromRequestContext) async throws -> Options {
        Options(oidc: staff.map { Options.Provider(name: $0.settings.displayName) }, idPorten: idPorten != nil)
    }

    private func client(for flow: Flow) -> OpenIDClient? {
        flow.purpose == .staff ? staff : idPorten
    }

    func start(_ flow: Flow, _ request: Request, _ context: SamromRequestContext) async throws -> Response {
        guard let client = client(for: flow), let attempts else { throw APIError.notFound }
        guard let redirect = redirectURI(flow, request) else { throw APIError.badRequest("The Host header is missing or malformed.") }
        var returnTo: String?
        if flow.purpose == .knock {
            guard let asked = request.uri.queryParameters["return"].map(String.init), OpenIDAttempt.isJoinPage(asked) else {
                throw APIError.badField("\"return\" must be this server's join page (/j/)")
            }
            returnTo = asked
        }
        let attempt = OpenIDAttempt.start(flow.purpose, now: clock.now, returnTo: returnTo)
        do {
            let location = try await client.authorizationURL(for: attempt, redirectURI: redirect)
            var response = Self.redirect(to: location)
            response.headers[.setCookie] = Self.attemptCookie(flow, value: try attempts.seal(attempt), maxAge: Int(OpenIDAttempt.lifetime))
            return response
        } catch let failure as OpenIDClient.Failure {
            try await record(flow, .error, failure.description, context)
            return failed(flow, failure.code.rawValue, returnTo: returnTo)
        }
    }

    func callback(_ flow: Flow, _ request: Request, _ context: SamromRequestContext) async throws -> Response {
        guard let client = client(for: flow), let attempts else { throw APIError.notFound }
        let query = request.uri.queryParameters
        let attempt = request.cookies[Self.attemptCookie].flatMap { attempts.open($0.value, as: OpenIDAttempt.self) }
        guard let attempt, let state = query["state"].map(String.init), attempt.accepts(state: state, for: flow.purpose, now: clock.now)
        else {
            // Not this browser's attempt (or too late): a forged or replayed answer.
            try await accounts.auditor.refused(
                action(flow), reason: "\(name(flow)): the answer's state does not match this browser's login", clientIP: context.clientIP)
            return failed(flow, "oidc-state", returnTo: nil)
        }
        if query["error"] != nil {
            try await record(flow, .denied, "the provider answered with an error", context)
            return failed(flow, "oidc-denied", returnTo: attempt.returnTo)
        }
        guard let code = query["code"].map(String.init), (1...2048).contains(code.utf8.count), let redirect = redirectURI(flow, request) else {
            try await accounts.auditor.refused(action(flow), reason: "\(name(flow)): an answer without a code", clientIP: context.clientIP)
            return failed(flow, "oidc-state", returnTo: attempt.returnTo)
        }
        let token: IDToken
        switch await Self.redeem(code, attempt: attempt, redirectURI: redirect, at: client) {
        case .success(let verified):
            token = verified
        case .failure(let failure):
            try await record(flow, failure.code == .unavailable ? .error : .denied, failure.description, context)
            return failed(flow, failure.code.rawValue, returnTo: attempt.returnTo)
        }
        switch flow.purpose {
        case .staff:
            return try await loggedIn(token, client: client, context)
        case .knock:
            return try await verified(attempt, context)
        }
    }

    private static func redeem(
        _ code: String, attempt: OpenIDAttempt, redirectURI: String, at client: OpenIDClient
    ) async -> Result<IDToken, OpenIDClient.Failure> {
        do {
            return .success(try await client.idToken(code: code, attempt: attempt, redirectURI: redirectURI))
        } catch {
            return .failure(error)
        }
    }

    /// Staff: the session of the account linked to the claim's value.
    private func loggedIn(_ token: IDToken, client: OpenIDClient, _ context: SamromRequestContext) async throws -> Response {
        guard let value = token.string(client.settings.claim) else {
            try await record(.staff, .denied, "the ID token has no \(client.settings.claim) claim", context)
            return failed(.staff, OpenIDClient.Failure.Code.invalidToken.rawValue, returnTo: nil)
        }
        guard let (account, session) = try await accounts.login(identity: value, provider: client.settings.displayName, clientIP: context.clientIP)
        else { return failed(.staff, "oidc-no-account", returnTo: nil) }
        metrics.logins.increment()
        var response = Self.redirect(to: account.role.homePage)
        response.headers.append(HTTPField(name: .setCookie, value: SessionController.cookie(value: session.encoded, maxAge: accounts.sessionMaxAge)))
        response.headers.append(HTTPField(name: .setCookie, value: Self.attemptCookie(.staff, value: "", maxAge: 0)))
        return response
    }

    /// A deltaker: only that they were verified, and at which level (the
    /// token's `acr` was checked); no claim of the token is kept.
    private func verified(_ attempt: OpenIDAttempt, _ context: SamromRequestContext) async throws -> Response {
        guard let verifications, let returnTo = attempt.returnTo else { throw APIError.notFound }
        let proof = VerifiedIdentity(level: .high, expiresAt: clock.now.addingTimeInterval(VerifiedIdentity.lifetime))
        try await accounts.auditor.record(
            .identityVerify, actor: .anonymous, outcome: .allowed, reason: proof.description + " before knocking", clientIP: context.clientIP)
        var response = Self.redirect(to: returnTo + "#id-porten-verified")
        response.headers.append(HTTPField(name: .setCookie, value: Self.verificationCookie(try verifications.seal(proof))))
        response.headers.append(HTTPField(name: .setCookie, value: Self.attemptCookie(.knock, value: "", maxAge: 0)))
        return response
    }

    private func record(_ flow: Flow, _ outcome: AuditOutcome, _ why: String, _ context: SamromRequestContext) async throws {
        try await accounts.auditor.record(action(flow), actor: .anonymous, outcome: outcome, reason: "\(name(flow)): \(why)", clientIP: context.clientIP)
    }

    private func action(_ flow: Flow) -> AuditAction { flow.purpose == .staff ? .login : .identityVerify }
    private func name(_ flow: Flow) -> String { flow.purpose == .staff ? "OpenID Connect" : "ID-porten" }

    /// Where the provider sends the browser back: this server's callback.
    private func redirectURI(_ flow: Flow, _ request: Request) -> String? {
        policy.origin(authority: request.head.authority).map { $0 + flow.path + "/callback" }
    }

    /// SameSite=Lax: the provider's answer is a top-level navigation from
    /// its site, on which a Strict cookie would not be sent.
    static func attemptCookie(_ flow: Flow, value: String, maxAge: Int) -> String {
        "\(attemptCookie)=\(value); Path=\(flow.path); Max-Age=\(maxAge); HttpOnly; Secure; SameSite=Lax"
    }

    static func verificationCookie(_ value: String) -> String {
        "\(verificationCookie)=\(value); Path=/ws; Max-Age=\(Int(VerifiedIdentity.lifetime)); HttpOnly; Secure; SameSite=Strict"
    }

    static func redirect(to location: String) -> Response {
        var response = Response(status: .seeOther)
        response.headers[.location] = location
        response.headers[.cacheControl] = "no-store"
        return response
    }

    /// Back to the page the flow began on, which says what went wrong.
    private func failed(_ flow: Flow, _ code: String, returnTo: String?) -> Response {
        if flow.purpose == .staff { metrics.failedLogins.increment() }
        let page = flow.purpose == .staff ? "/#login-error=" : (returnTo ?? "/j/") + "#id-porten-error="
        var response = Self.redirect(to: page + code)
        response.headers[.setCookie] = Self.attemptCookie(flow, value: "", maxAge: 0)
        return response
    }
}
