import Metrics
import Prometheus

/// The server's metrics, made through swift-metrics against this server's own
/// Prometheus registry (so tests can run several servers in one process).
/// Labels carry no personal data: no ids, names, addresses or tokens.
public struct ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let connections: Metrics.Meter
    let messages: Metrics.Counter
    let rejectedMessages: Metrics.Counter
    let relayed: Metrics.Counter
    let chatMessages: Metrics.Counter
    let logins: Metrics.Counter
    let failedLogins: Metrics.Counter
    let consultationsCreated: Metrics.Counter
    /// Hellos answered `moved`: the call lives on another instance.
    let moved: Metrics.Counter
    /// Invitation e-mails handed to the SMTP server, and those it did not take.
    let invitationsSent: Metrics.Counter
    let invitationsFailed: Metrics.Counter

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        let factory = PrometheusMetricsFactory(registry: registry)
        connections = Metrics.Meter(label: "samrom_ws_connections", factory: factory)
        messages = Metrics.Counter(label: "samrom_ws_messages_total", factory: factory)
        rejectedMessages = Metrics.Counter(label: "samrom_ws_rejected_messages_total", factory: factory)
        relayed = Metrics.Counter(label: "samrom_ws_relayed_total", factory: factory)
        chatMessages = Metrics.Counter(label: "samrom_chat_messages_total", factory: factory)
        logins = Metrics.Counter(label: "samrom_logins_total", factory: factory)
        failedLogins = Metrics.Counter(label: "samrom_failed_logins_total", factory: factory)
        consultationsCreated = Metrics.Counter(label: "samrom_consultations_created_total", factory: factory)
        moved = Metrics.Counter(label: "samrom_ws_moved_total", factory: factory)
        invitationsSent = Metrics.Counter(label: "samrom_invitations_sent_total", factory: factory)
        invitationsFailed = Metrics.Counter(label: "samrom_invitations_failed_total", factory: factory)
    }

    /// The Prometheus text exposition.
    public func render() -> String { registry.emitToString() }
}
