/// Every access goes through here. `record` returns only once the event is
/// durable, so callers report success after the trail exists, never before.
public protocol AuditSink: Sendable {
    func record(_ event: AuditEvent) async throws
}
