import Hummingbird
import SamromCore

/// `GET /healthz` and `GET /metrics` (Prometheus text, no personal data).
struct OperationsController {
    let metrics: ServerMetrics
    let store: any AccountStore

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
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
        }
    }
}
