import HTTPTypes
import Hummingbird

/// Refuses requests that a browser says come from another origin: every
/// state-changing one, and every one under `/api/` (page navigations and
/// the client's files are not checked: links arrive from SMS and e-mail).
struct OriginCheckMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: OriginPolicy

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Everything that changes state, and every API read as well (an
        // audit search or export records a purpose: a page elsewhere must not
        // make a logged-in personvernombud's browser do one).
        let reads = [HTTPRequest.Method.get, .head, .options].contains(request.method)
        if !reads || request.uri.path.hasPrefix("/api/") {
            guard policy.allows(request.headers, authority: request.head.authority) else { throw APIError.crossOrigin }
        }
        return try await next(request, context)
    }
}
