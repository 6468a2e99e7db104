import HTTPTypes
import Hummingbird
import SamromCore

/// Reads the `samrom_session` cookie and, when it names a live session of an
/// enabled account, puts that account in the request context.
struct SessionMiddleware: RouterMiddleware {
    typealias Context = SamromRequestContext
    let accounts: AccountService

    static let cookieName = "samrom_session"
    /// Sent by the pages on requests they make by themselves (the list's
    /// refresh every few seconds): these do not count as activity, so an
    /// unattended page still reaches the idle timeout.
    static let backgroundHeader = HTTPField.Name("X-Samrom-Background")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let value = request.cookies[Self.cookieName]?.value, let token = SessionToken.parse(value) {
            let active = request.headers[Self.backgroundHeader] == nil
            if let account = try await accounts.authenticate(token, activity: active) {
                context.account = account
                context.sessionHash = token.hash
            }
        }
        return try await next(request, context)
    }
}
