import Foundation
import HTTPTypes
import Metrics
import Hummingbird
import SamromCore
import Sodium

/// `POST /api/session` (log in), `POST /api/session/second-factor` (its
/// second step), `DELETE /api/session` (log out), `GET /api/me`.
struct SessionController {
    let accounts: AccountService
    let configuration: ServerConfiguration
    let metrics: ServerMetrics

    struct Me: ResponseEncodable {
        let id: Int64
        let username: String
        let role: String
        /// A TOTP second factor is set up (confirmed).
        let secondFactor: Bool
        /// What this server can send: e-mail only with an SMTP server.
        let invitations: Invitations
    }

    struct Invitations: Encodable {
        let email: Bool
    }

    /// The answer to a right password when the login needs another step.
    struct Next: ResponseEncodable {
        let next: String
    }

    func register(on router: Router<SamromRequestContext>) {
        router.post("/api/session", use: login)
        router.post("/api/session/second-factor", use: secondFactor)
        router.delete("/api/session", use: logout)
        router.get("/api/me", use: me)
    }

    @Sendable func login(_ request: Request, context: SamromRequestContext) async throws -> Response {
        let body = try await JSONBody.decode(APIRequests.Login.self, from: request, context: context)
        guard body.username.utf8.count <= 256 else { throw APIError.invalidCredentials }
        let password = SecureBytes(Array(body.password.utf8))
        switch try await accounts.login(username: body.username, password: password, clientIP: context.clientIP) {
        case .success(_, let token):
            metrics.logins.increment()
            return loggedIn(token)
        case .pending(let purpose, let token):
            var headers = HTTPFields()
            headers[.setCookie] = Self.pendingCookie(value: token.encoded, maxAge: Int(configuration.secondFactor.pendingLifetime))
            headers[.cacheControl] = "no-store"
            return try EditedResponse(status: .accepted, headers: headers, response: Next(next: purpose.rawValue))
                .response(from: request, context: context)
        case .invalid:
            metrics.failedLogins.increment()
            throw APIError.invalidCredentials
        case .throttled(let wait):
            metrics.failedLogins.increment()
            throw APIError.tooManyAttempts(retryAfter: Int(wait.rounded(.up)))
        case .busy:
            metrics.failedLogins.increment()
            throw APIError.busy
        }
    }

    @Sendable func secondFactor(_ request: Request, context: SamromRequestContext) async throws -> Response {
        let body = try await JSONBody.decode(APIRequests.SecondFactorCode.self, from: request, context: context)
        guard let pending = Self.pendingToken(request) else { throw APIError.loginExpired }
        switch try await accounts.completeSecondFactor(pending, code: body.code, clientIP: context.clientIP) {
        case .success(_, let token):
            metrics.logins.increment()
            return loggedIn(token)
        case .expired:
            metrics.failedLogins.increment()
            throw APIError.loginExpired
        case .invalid:
            metrics.failedLogins.increment()
            throw APIError.invalidSecondFactor
        case .throttled(let wait):
            metrics.failedLogins.increment()
            throw APIError.tooManyAttempts(retryAfter: Int(wait.rounded(.up)))
        }
    }

    /// 204 with the session cookie, and the pending cookie cleared.
    func loggedIn(_ token: SessionToken) -> Response {
        var response = Response(status: .noContent)
        response.headers.append(HTTPField(name: .setCookie, value: Self.cookie(value: token.encoded, maxAge: Int(configuration.sessionLifetime))))
        response.headers.append(HTTPField(name: .setCookie, value: Self.pendingCookie(value: "", maxAge: 0)))
        response.headers[.cacheControl] = "no-store"
        return response
    }

    @Sendable func logout(_ request: Request, context: SamromRequestContext) async throws -> Response {
        if let account = context.account, let hash = context.sessionHash {
            try await accounts.logout(sessionHash: hash, account: account, clientIP: context.clientIP)
        }
        var response = Response(status: .noContent)
        response.headers[.setCookie] = Self.cookie(value: "", maxAge: 0)
        return response
    }

    @Sendable func me(_ request: Request, context: SamromRequestContext) async throws -> Me {
        let account = try context.requireAccount()
        return Me(
            id: account.id.rawValue, username: account.username, role: account.role.rawValue,
            secondFactor: try await accounts.secondFactors.isEnrolled(account.id),
            invitations: Invitations(email: configuration.smtp != nil))
    }

    /// HttpOnly (no script reads it), Secure (TLS only), SameSite=Strict (never
    /// sent on cross-site requests), Path=/ and no Domain (this host only).
    static func cookie(value: String, maxAge: Int) -> String {
        "\(SessionMiddleware.cookieName)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; Secure; SameSite=Strict"
    }

    /// A login waiting for its second step (or for one to be set up): a
    /// few minutes, sent only to the API. It is never a session.
    static let pendingCookieName = "samrom_pending"

    static func pendingCookie(value: String, maxAge: Int) -> String {
        "\(pendingCookieName)=\(value); Path=/api; Max-Age=\(maxAge); HttpOnly; Secure; SameSite=Strict"
    }

    static func pendingToken(_ request: Request) -> PendingLoginToken? {
        request.cookies[pendingCookieName].flatMap { PendingLoginToken.parse($0.value) }
    }
}
