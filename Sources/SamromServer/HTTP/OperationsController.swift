import Hummingbird

/// `GET /healthz` and `GET /metrics` (Prometheus text, no personal data).
struct OperationsController {
    let metrics: ServerMetrics

    struct Health: ResponseEncodable {
        let status: String
    }

    func register(on router: Router<SamromRequestContext>) {
        router.get("/healthz") { _, _ in Health(status: "ok") }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
        }
    }
}
