import Hummingbird

/// Takes the client's address from `X-Forwarded-For` when the peer is a
/// trusted reverse proxy (`TrustedProxies`).
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = SamromRequestContext
    let proxies: TrustedProxies

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard proxies.contains(context.remoteAddress?.ipAddress) else { return try await next(request, context) }
        var context = context
        let client = proxies.client(
            peer: context.remoteAddress?.ipAddress, forwardedFor: request.headers[values: .init("X-Forwarded-For")!])
        context.forwardedClientIP = client == context.remoteAddress?.ipAddress ? nil : client
        return try await next(request, context)
    }
}
