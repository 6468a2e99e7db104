import HTTPTypes
import Hummingbird

/// Refuses requests that a browser says come from another origin: every
/// state-changing one, and every one under `/api/` (page navigations and
/// the client's files are not checked: links arrive from SMS and e-mail).
/// The OpenID Connect callbacks are the one exception under `/api/`: the
/// provider's answer is a navigation from its site by design, and its own
/// check is the state bound to this browser's sealed attempt cookie.
struct OriginCheckMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: OriginPolicy

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Everything that changes state, and every API read as well (an
        // audit search or export records a purpose: a page elsewhere must not
        // make a logged-in personvernombud's browser do one).
        let reads = [HTTPRequest.Method.get, .head, .options].contains(request.method)
        if !reads || (request.uri.path.hasPrefix("/api/") && !OpenIDController.callbacks.contains(request.uri.path)) {
            guard policy.allows(request.headers, authority: request.head.authority) else { throw APIError.crossOrigin }
        }
        return try await next(request, context)
    }
}
