import Foundation

/// The centre's (or one veileder's own) anonymous figures for one month,
/// computed from the consultations and the audit log: nothing is stored for
/// them, and nothing in them names or counts a person below 5.
///
/// What is counted (a consultation counts in the month its booked time, or
/// its call, starts in the report's time zone):
/// - `booked`: consultations whose booked time starts in the month.
/// - `held`: calls (`CallTimeline`) that start in the month; a call crossing
///   midnight at the month's end belongs to the month it started in.
/// - `video` / `soundOnly`: the held calls with and without video
///   (`held = video + soundOnly`).
/// - `withTolk`: held calls a tolk was in.
/// - `groupCalls`: held calls with more than one deltaker in at once; a
///   tolk does not make a call a group. `groupSize3`…`groupSize6`: the group
///   calls by the most people in the call at once, veileder and tolk
///   included (6 also counts more, with a larger room configuration), so
///   `groupCalls = groupSize3 + … + groupSize6`.
/// - `noShows`: booked consultations whose booked time had ended by `now`,
///   whose link still worked at the booked start (not ended or expired
///   before it: a cancelled time is no no-show), and where no deltaker ever
///   knocked (an allowed `room.knock`) from `noShowKnockMargin` before the
///   booked start on. Knocking and never being let in is showing up.
/// - `medianMinutes`: the median length of the held calls, rounded to whole
///   minutes (the mean of the middle two for an even number of calls).
///
/// Small numbers (every rule is applied in `protect`):
/// 1. A count of 1 to 4 is shown as "under 5" (`FigureValue.underFive`); 0 is shown.
/// 2. Complementary suppression: where a total and all its parts are shown
///    (`held` = `video` + `soundOnly`; `groupCalls` = the group sizes), and
///    exactly one part is "under 5", the smallest other part that is not 0
///    is withheld too (`notShown`), so that nobody can subtract their way
///    to the hidden count.
/// 3. The median is shown only when at least 5 calls were held; else it is
///    `notShown` (null in JSON).
/// Figures that are a part of another without their other parts being shown
/// (`withTolk`, `groupCalls`, `noShows`) need no more than rule 1.
///
/// Completeness: audit entries erased after the retention period are
/// absent, so for an old month the calls (and the knocks that tell a no-show
/// from one who came) may be undercounted. A consultation has one booked time,
/// its latest: a booking moved to another month counts there only.
public struct MonthlyFigures: Sendable, Equatable {
    public enum Scope: Sendable, Equatable {
        /// Every consultation of the centre (the leder's and the CLI's figures).
        case centre
        /// Only this veileder's own consultations.
        case veileder(AccountID)

        /// "centre" or "veileder", as the JSON says.
        public var name: String {
            switch self {
            case .centre: "centre"
            case .veileder: "veileder"
            }
        }
    }

    /// A deltaker's knock this long before the booked start or later shows
    /// that they came for it (the lobby opens minutes before); an earlier knock
    /// was for another conversation in the same consultation.
    public static let noShowKnockMargin: TimeInterval = 12 * 60 * 60

    public let month: ReportMonth
    /// The time zone the month's boundaries were taken in.
    public let timeZone: TimeZone
    public let scope: Scope
    /// Every `FigureKey`, in its order, protected.
    public let figures: [Figure]
    /// The raw counts: never shown, kept for the tests.
    let counts: Counts

    /// `owner` nil: the centre; else only that veileder's consultations.
    /// `entries` should hold at least every entry of these consultations from
    /// a day before the month to a day after it (a call's first keys may come
    /// before the month starts, its end after); entries of other
    /// consultations are ignored.
    public static func compute(
        month: ReportMonth, timeZone: TimeZone, consultations: [Consultation], entries: [AuditEntry], now: Date,
        owner: AccountID?
    ) -> MonthlyFigures {
        let range = month.range(in: timeZone)
        var seen: Set<ConsultationID> = []
        let counted = consultations.filter { (owner == nil || $0.owner == owner) && seen.insert($0.id).inserted }
        let ids = Set(counted.map(\.id))
        var log: [ConsultationID: [AuditEntry]] = [:]
        for entry in entries {
            guard let id = entry.event.consultation, ids.contains(id) else { continue }
            log[id, default: []].append(entry)
        }
        var counts = Counts()
        for consultation in counted {
            let own = log[consultation.id] ?? []
            if let booking = consultation.booking, range.contains(booking.startsAt) {
                counts.booked += 1
                if isNoShow(consultation, booking: booking, entries: own, now: now) { counts.noShows += 1 }
            }
            for call in CallTimeline(consultation: consultation.id, entries: own).calls where range.contains(call.start) {
                counts.add(call)
            }
        }
        return MonthlyFigures(
            month: month, timeZone: timeZone, scope: owner.map(Scope.veileder) ?? .centre, figures: protect(counts), counts: counts)
    }

    /// The audit entries `compute` needs for a month: its consultations'
    /// entries from a day before the month to a day after it (a call's
    /// first keys may come before the month starts, its end after it; a
    /// knock more than a day after the month does not undo a no-show).
    public static func auditWindow(month: ReportMonth, timeZone: TimeZone) -> Range<Date> {
        let day: TimeInterval = 24 * 60 * 60
        return month.start(in: timeZone).addingTimeInterval(-day)..<month.end(in: timeZone).addingTimeInterval(day)
    }

    /// Whether a consultation can count in the month: its booked time is in
    /// it, or it was open during it (created before the month ended, not
    /// ended or expired more than a day before it began). The others may be left out of
    /// `compute`'s consultations, and their entries need not be read.
    public static func mayCount(_ consultation: Consultation, month: ReportMonth, timeZone: TimeZone) -> Bool {
        let range = month.range(in: timeZone)
        if let booking = consultation.booking, range.contains(booking.startsAt) { return true }
        let closed = min(consultation.endedAt ?? consultation.expiresAt, consultation.expiresAt)
        return consultation.createdAt < range.upperBound && closed > range.lowerBound.addingTimeInterval(-24 * 60 * 60)
    }

    /// The value of one figure.
    public subscript(key: FigureKey) -> FigureValue {
        figures.first { $0.key == key }?.value ?? .notShown
    }

    // MARK: Counting

    struct Counts: Sendable, Equatable {
        var booked = 0
        var held = 0
        var video = 0
        var soundOnly = 0
        var withTolk = 0
        var groupCalls = 0
        /// Group calls by peak size 3, 4, 5, 6 (6 or more).
        var groupSizes = [0, 0, 0, 0]
        var noShows = 0
        /// Of the held calls, in seconds.
        var lengths: [TimeInterval] = []

        mutating func add(_ call: CallTimeline.Call) {
            held += 1
            if call.video { video += 1 } else { soundOnly += 1 }
            if call.withTolk { withTolk += 1 }
            if call.isGroup {
                groupCalls += 1
                groupSizes[min(max(call.peak, 3), 6) - 3] += 1
            }
            lengths.append(call.length)
        }

        /// Whole minutes, rounded to the nearest; nil without calls.
        var medianMinutes: Int? { MonthlyFigures.medianMinutes(lengths) }
    }

    static func medianMinutes(_ lengths: [TimeInterval]) -> Int? {
        guard !lengths.isEmpty else { return nil }
        let sorted = lengths.sorted()
        let middle = sorted.count / 2
        let median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        return Int((median / 60).rounded(.toNearestOrAwayFromZero))
    }

    static func isNoShow(_ consultation: Consultation, booking: Booking, entries: [AuditEntry], now: Date) -> Bool {
        guard booking.endsAt <= now else { return false }  // not over yet
        // The link must have worked at the booked start: an ended or expired
        // consultation was a cancelled time.
        if let ended = consultation.endedAt, ended <= booking.startsAt { return false }
        if consultation.expiresAt <= booking.startsAt { return false }
        let from = booking.startsAt.addingTimeInterval(-noShowKnockMargin)
        let knocked = entries.contains {
            $0.event.action == .knock && $0.event.outcome == .allowed && $0.event.actor.kind == .participant
                && $0.event.actor.role == ParticipantRole.deltaker.rawValue && $0.event.at >= from
        }
        return !knocked
    }

    // MARK: Small numbers

    /// The rules of the type's documentation, applied to the raw counts.
    static func protect(_ counts: Counts) -> [Figure] {
        let media = complement([counts.video, counts.soundOnly])
        let sizes = complement(counts.groupSizes)
        let median: FigureValue = counts.held >= 5 ? counts.medianMinutes.map(FigureValue.count) ?? .notShown : .notShown
        let values: [FigureKey: FigureValue] = [
            .booked: .protected(counts.booked),
            .held: .protected(counts.held),
            .video: media[0],
            .soundOnly: media[1],
            .withTolk: .protected(counts.withTolk),
            .groupCalls: .protected(counts.groupCalls),
            .groupSize3: sizes[0],
            .groupSize4: sizes[1],
            .groupSize5: sizes[2],
            .groupSize6: sizes[3],
            .noShows: .protected(counts.noShows),
            .medianMinutes: median,
        ]
        return FigureKey.allCases.map { Figure(key: $0, value: values[$0] ?? .notShown) }
    }

    /// The parts of a shown total: rule 1 for each, and when exactly one is
    /// "under 5", the smallest other part above 0 is withheld as well. (With
    /// the total itself under 5 every part above 0 is under 5 already.)
    static func complement(_ parts: [Int]) -> [FigureValue] {
        var values = parts.map(FigureValue.protected)
        guard values.count(where: { $0 == .underFive }) == 1 else { return values }
        let shown = parts.indices.filter { parts[$0] > 0 && values[$0] != .underFive }
        if let smallest = shown.min(by: { parts[$0] < parts[$1] }) { values[smallest] = .notShown }
        return values
    }
}
