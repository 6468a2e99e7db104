import Foundation
import SamromCore

/// The one door to the audit sink for the server: it stamps the time and
/// makes the call sites short. `record` returns after the entry is durable.
public struct Auditor: Sendable {
    let sink: any AuditSink
    let clock: WallClock
    let refusals = RefusalBox()

    public init(sink: any AuditSink, clock: WallClock) {
        self.sink = sink
        self.clock = clock
    }

    /// A refusal of someone not logged in (a throttled login, a bad link or
    /// resume token): summed per address and minute (RefusalTally), so that
    /// nobody can make the log grow without bound.
    public func refused(
        _ action: AuditAction, actor: AuditActor = .anonymous, consultation: ConsultationID? = nil,
        reason: String, clientIP: String?
    ) async throws {
        let event = AuditEvent(
            at: clock.now, actor: actor, action: action, consultation: consultation, outcome: .denied, reason: reason,
            clientIP: clientIP)
        for entry in await refusals.refuse(event) { try await sink.record(entry) }
    }

    /// Writes the sums of the minutes that have ended (run every second),
    /// or of every minute, ended or not (at shutdown).
    public func flushRefusals(all: Bool = false) async throws {
        for entry in await refusals.due(now: clock.now, all: all) { try await sink.record(entry) }
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

/// The refusal tally's state, shared by every request and socket.
actor RefusalBox {
    private var tally = RefusalTally()
    func refuse(_ event: AuditEvent) -> [AuditEvent] { tally.refuse(event) }
    func due(now: Date, all: Bool) -> [AuditEvent] {
        tally.due(now: all ? now.addingTimeInterval(tally.window) : now).map { $0.event(at: now) }
    }
}
