import Foundation

/// The calls of one consultation, reconstructed from its audit entries alone
/// (nothing else about a call is stored).
///
/// Who is in the call, per member (an actor's kind and id):
/// - in from its `room.key` (everyone, the veileder too, announces its
///   device key on entering the call; a member that never did was only
///   waiting in the lobby),
/// - out at its `room.leave` (left, or the connection was lost), at a new
///   `room.knock` by it (it is back in the lobby), or for everyone at
///   `consultation.end` (the room is closed without a `room.leave` each).
///
/// The veileder is the `user` actor (the owner's account) or a participant
/// with the role veileder; deltaker and tolk are participants with that role.
/// A call lasts while the veileder and at least one deltaker or tolk are in
/// at once. Pieces of calls less than `reconnectGap` apart are one call: a
/// dropped connection that comes back (`room.resume`, then `room.key` again)
/// or someone leaving and coming back does not make a second call.
///
/// Video: the owning veileder's page reports whether video is used
/// (`room.media`, reason read by `CallMedia(auditReason:)`). A call is a
/// video call when video was reported while it lasted, or the last report
/// before it started said video (the state carries over); otherwise it is
/// sound only, also when nothing was ever reported.
///
/// When the server stops, those in a call get no `room.leave`. So a member
/// with no entry of its own for `silenceLimit` (longer than any call) is taken
/// as out at the consultation's room entry before the one that shows it, and
/// one still in at the consultation's last room entry is out at that entry: a
/// call in progress when the figures are computed counts with its length so far.
/// (Room entries: those of the lobby and the call; an invitation sent later
/// does not lengthen a call.)
///
/// Audit entries erased after the retention period are absent: the calls of
/// a consultation whose entries were erased are then missing or incomplete.
public struct CallTimeline: Sendable, Equatable {
    /// Closer than this, two pieces of call are one call (a dropped connection).
    public static let reconnectGap: TimeInterval = 5 * 60

    /// Longer than any call (a booking is at most 4 hours): a member silent
    /// this long while in the call was left there by a stopped server.
    public static let silenceLimit: TimeInterval = 8 * 60 * 60

    /// The entries of the lobby and the call.
    public static let roomActions: Set<AuditAction> = [
        .join, .knock, .admit, .deny, .resume, .leave, .hold, .media, .deviceKey, .chatHistory, .consultationEnd,
    ]

    /// One call: from when the veileder and someone else were first in at
    /// once until the last of them left (gaps under `reconnectGap` included).
    public struct Call: Sendable, Equatable {
        public var start: Date
        public var end: Date
        /// The most people in the call at once, the veileder included.
        public var peak: Int
        /// The most deltakere in the call at once.
        public var peakDeltakere: Int
        public var withTolk: Bool
        /// False: sound only.
        public var video: Bool

        public init(start: Date, end: Date, peak: Int, peakDeltakere: Int, withTolk: Bool, video: Bool) {
            self.start = start
            self.end = end
            self.peak = peak
            self.peakDeltakere = peakDeltakere
            self.withTolk = withTolk
            self.video = video
        }

        public var length: TimeInterval { end.timeIntervalSince(start) }

        /// More than one deltaker in the call at once (a tolk does not make a
        /// group); such a call has at least 3 people at its peak.
        public var isGroup: Bool { peakDeltakere >= 2 }
    }

    public let consultation: ConsultationID
    /// In order of start.
    public let calls: [Call]

    /// `entries` may hold other consultations' entries too; only this one's
    /// are read, in sequence order.
    public init(consultation: ConsultationID, entries: [AuditEntry]) {
        self.consultation = consultation
        let own = entries.filter { $0.event.consultation == consultation }.sorted { $0.seq < $1.seq }
        var pieces = Pieces()
        for entry in own { pieces.apply(entry.event) }
        pieces.finish()
        calls = Self.joined(pieces.done)
    }

    /// Pieces closer than `reconnectGap` become one call.
    static func joined(_ pieces: [Call]) -> [Call] {
        var calls: [Call] = []
        for piece in pieces {
            if var last = calls.last, piece.start.timeIntervalSince(last.end) < reconnectGap {
                last.end = max(last.end, piece.end)
                last.peak = max(last.peak, piece.peak)
                last.peakDeltakere = max(last.peakDeltakere, piece.peakDeltakere)
                last.withTolk = last.withTolk || piece.withTolk
                last.video = last.video || piece.video
                calls[calls.count - 1] = last
            } else {
                calls.append(piece)
            }
        }
        return calls
    }

    /// Who is in, and the pieces of call found so far.
    private struct Pieces {
        struct MemberKey: Hashable {
            var kind: AuditActor.Kind
            var id: String?
        }

        var inCall: [MemberKey: ParticipantRole] = [:]
        /// Each member's latest own entry.
        var lastSeen: [MemberKey: Date] = [:]
        var media: CallMedia?
        var open: Call?
        var done: [Call] = []
        var last: Date?

        /// The role an actor has in a call, if it can be in one.
        static func role(of actor: AuditActor) -> ParticipantRole? {
            switch actor.kind {
            case .user: .veileder  // only the owner enters its consultation's call
            case .participant: actor.role.flatMap(ParticipantRole.init(rawValue:))
            case .system, .anonymous: nil
            }
        }

        mutating func apply(_ event: AuditEvent) {
            guard CallTimeline.roomActions.contains(event.action) else { return }
            let key = MemberKey(kind: event.actor.kind, id: event.actor.id)
            // Those left in by a stopped server are out since the last room entry.
            let stale = inCall.keys.filter { member in
                lastSeen[member].map { event.at.timeIntervalSince($0) > CallTimeline.silenceLimit } ?? false
            }
            if !stale.isEmpty, let last {
                for member in stale { inCall[member] = nil }
                update(at: last)
            }
            last = max(last ?? event.at, event.at)
            lastSeen[key] = event.at
            switch event.action {
            case .deviceKey where event.outcome == .allowed:
                guard let role = Self.role(of: event.actor) else { return }
                inCall[key] = role
            case .leave:
                // Any outcome: a `denied` leave is someone removed from the lobby.
                inCall[key] = nil
            case .knock where event.outcome == .allowed:
                inCall[key] = nil
            case .consultationEnd where event.outcome == .allowed:
                inCall.removeAll()
            case .media where event.outcome == .allowed:
                guard let media = CallMedia(auditReason: event.reason) else { return }
                self.media = media
            default:
                return
            }
            update(at: event.at)
        }

        mutating func update(at time: Date) {
            let roles = Array(inCall.values)
            let veileder = roles.contains(.veileder)
            let deltakere = roles.count(where: { $0 == .deltaker })
            let tolker = roles.count(where: { $0 == .tolk })
            if veileder, deltakere + tolker > 0 {
                let people = 1 + deltakere + tolker
                let video = media == .video
                if var call = open {
                    call.peak = max(call.peak, people)
                    call.peakDeltakere = max(call.peakDeltakere, deltakere)
                    call.withTolk = call.withTolk || tolker > 0
                    call.video = call.video || video
                    open = call
                } else {
                    open = Call(start: time, end: time, peak: people, peakDeltakere: deltakere, withTolk: tolker > 0, video: video)
                }
            } else if var call = open {
                call.end = max(call.start, time)
                done.append(call)
                open = nil
            }
        }

        mutating func finish() {
            guard var call = open, let last else { return }
            call.end = max(call.start, last)
            done.append(call)
            open = nil
        }
    }
}
