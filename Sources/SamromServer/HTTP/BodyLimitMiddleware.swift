import Hummingbird

/// Applies the configured request body limit to the context.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = SamromRequestContext
    let maxBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.maxBodyBytes = maxBytes
        return try await next(request, context)
    }
}
