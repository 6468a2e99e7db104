import Hummingbird
import SamromCore

/// `GET /healthz` and `GET /metrics` (Prometheus text, no personal data;
/// loopback peers only, or with the bearer token: `MetricsAccess`).
struct OperationsController {
    let metrics: ServerMetrics
    let store: any AccountStore
    var access = MetricsAccess(token: nil)

    struct Health: ResponseEncodable {
        let status: String
    }

    func register(on router: Router<SamromRequestContext>) {
        // Healthy when the database answers a query, so a load balancer stops
        // sending people to an instance whose disk has gone away.
        router.get("/healthz") { _, _ -> EditedResponse<Health> in
            do {
                _ = try await store.accountCount()
                return EditedResponse(headers: [.cacheControl: "no-store"], response: Health(status: "ok"))
            } catch {
                return EditedResponse(
                    status: .serviceUnavailable, headers: [.cacheControl: "no-store"], response: Health(status: "unavailable"))
            }
        }
        let access = access
        router.get("/metrics") { request, context in
            switch access.decide(peer: context.remoteAddress, headers: request.headers) {
            case .allowed:
                break
            case .tokenRequired:
                throw APIError(
                    .unauthorized, "metrics-token-required", "Send the metrics bearer token.",
                    headers: [.wwwAuthenticate: #"Bearer realm="samrom-metrics""#])
            case .loopbackOnly:
                throw APIError(
                    .forbidden, "metrics-loopback-only",
                    "Metrics are served to this host only; start the server with --metrics-token-file to read them from elsewhere.")
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
        }
    }
}
