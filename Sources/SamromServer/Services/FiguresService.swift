import Foundation
import SamromCore

/// The anonymous monthly figures (`MonthlyFigures`), gathered from the
/// store for the leder's page, a veileder's own figures and `samrom stats`.
/// Nothing is stored for them; every read is audited.
public final class FiguresService: Sendable {
    let store: any ConsultationStore & AuditStore
    let auditor: Auditor
    let clock: WallClock

    public init(store: any ConsultationStore & AuditStore, auditor: Auditor, clock: WallClock) {
        self.store = store
        self.auditor = auditor
        self.clock = clock
    }

    static let pageSize = 10_000

    /// A read refused for the reader's role: logged like every read.
    public func refused(reader: AuditActor, clientIP: String?) async throws {
        try await auditor.record(
            .statsRead, actor: reader, outcome: .denied, reason: "the figures are for the leder and the veileder", clientIP: clientIP)
    }

    /// The month's figures for the centre (`owner` nil) or one veileder;
    /// the read is logged with `reader` as its actor.
    public func figures(
        month: ReportMonth, timeZone: TimeZone, owner: AccountID?, reader: AuditActor, clientIP: String?
    ) async throws -> MonthlyFigures {
        let range = month.range(in: timeZone)
        let window = MonthlyFigures.auditWindow(month: month, timeZone: timeZone)
        var entries: [AuditEntry] = []
        var filter = AuditFilter(from: window.lowerBound, to: window.upperBound)
        while true {
            let page = try await store.auditRecords(matching: filter, limit: Self.pageSize)
            for record in page {
                if let entry = try record.entry(), CallTimeline.roomActions.contains(entry.event.action) { entries.append(entry) }
            }
            guard page.count == Self.pageSize, let last = page.last else { break }
            filter.afterSeq = last.seq
        }
        // The booked ones, and every one with a call in the window.
        var consultations = try await store.consultations(bookedFrom: range.lowerBound, to: range.upperBound)
        var known = Set(consultations.map(\.id))
        for id in Set(entries.compactMap(\.event.consultation)) where !known.contains(id) {
            if let consultation = try await store.consultation(id: id) {
                consultations.append(consultation)
                known.insert(id)
            }
        }
        let figures = MonthlyFigures.compute(
            month: month, timeZone: timeZone, consultations: consultations, entries: entries, now: clock.now, owner: owner)
        try await auditor.record(
            .statsRead, actor: reader, outcome: .allowed,
            reason: "read the anonymous figures for \(month) (\(owner == nil ? "the centre" : "own consultations"))", clientIP: clientIP)
        return figures
    }
}
