import Foundation
import SamromCore

/// The one door to the audit sink for the server: it stamps the time and
/// makes the call sites short. `record` returns after the entry is durable.
public struct Auditor: Sendable {
    let sink: any AuditSink
    let clock: WallClock

    public init(sink: any AuditSink, clock: WallClock) {
        self.sink = sink
        self.clock = clock
    }

    public func record(
        _ action: AuditAction, actor: AuditActor, consultation: ConsultationID? = nil,
        outcome: AuditOutcome, reason: String, clientIP: String?
    ) async throws {
        try await sink.record(
            AuditEvent(
                at: clock.now, actor: actor, action: action, consultation: consultation,
                outcome: outcome, reason: reason, clientIP: clientIP))
    }
}
