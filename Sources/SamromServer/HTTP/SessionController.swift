import Foundation
import Metrics
import Hummingbird
import SamromCore
import Sodium

/// `POST /api/session` (log in), `DELETE /api/session` (log out), `GET /api/me`.
struct SessionController {
    let accounts: AccountService
    let configuration: ServerConfiguration
    let metrics: ServerMetrics

    struct Me: ResponseEncodable {
        let id: Int64
        let username: String
        let role: String
    }

    func register(on router: Router<SamromRequestContext>) {
        router.post("/api/session", use: login)
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
            var response = Response(status: .noContent)
            response.headers[.setCookie] = Self.cookie(value: token.encoded, maxAge: Int(configuration.sessionLifetime))
            response.headers[.cacheControl] = "no-store"
            return response
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
        return Me(id: account.id.rawValue, username: account.username, role: account.role.rawValue)
    }

    /// HttpOnly (no script reads it), Secure (TLS only), SameSite=Strict (never
    /// sent on cross-site requests), Path=/ and no Domain (this host only).
    static func cookie(value: String, maxAge: Int) -> String {
        "\(SessionMiddleware.cookieName)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; Secure; SameSite=Strict"
    }
}
