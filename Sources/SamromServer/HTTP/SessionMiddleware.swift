import Hummingbird
import SamromCore

/// Reads the `samrom_session` cookie and, when it names a live session of an
/// enabled account, puts that account in the request context.
struct SessionMiddleware: RouterMiddleware {
    typealias Context = SamromRequestContext
    let accounts: AccountService

    static let cookieName = "samrom_session"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let value = request.cookies[Self.cookieName]?.value, let token = SessionToken.parse(value) {
            if let account = try await accounts.authenticate(token) {
                context.account = account
                context.sessionHash = token.hash
            }
        }
        return try await next(request, context)
    }
}
