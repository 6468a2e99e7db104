import HTTPTypes
import Hummingbird

/// Refuses state-changing requests (anything but GET, HEAD, OPTIONS) that a
/// browser says come from another origin.
struct OriginCheckMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: OriginPolicy

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        switch request.method {
        case .get, .head, .options:
            break
        default:
            guard policy.allows(request.headers, authority: request.head.authority) else { throw APIError.crossOrigin }
        }
        return try await next(request, context)
    }
}
