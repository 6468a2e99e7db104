import Foundation
import SamromCore

/// Creating, listing, re-linking and ending consultations, for their owner only.
public final class ConsultationService: Sendable {
    let store: any ConsultationStore
    let auditor: Auditor
    let clock: WallClock
    /// Tells the call's home, here or on another instance, of ends and new links.
    let cluster: ClusterBus

    public init(store: any ConsultationStore, auditor: Auditor, clock: WallClock, cluster: ClusterBus) {
        self.store = store
        self.auditor = auditor
        self.clock = clock
        self.cluster = cluster
    }

    public struct Failure: Error, Equatable {
        public enum Code: String, Sendable {
            case badTitle = "bad-field", badValidity = "bad-validity", badRole = "bad-role", badBooking = "bad-booking"
            case notFound = "not-found", ended, expired
        }
        public let code: Code
        public let message: String
    }

    /// A new consultation and its deltaker link's token (the only time the
    /// token exists outside the deltaker's browser).
    public func create(
        owner: Account, title rawTitle: String?, validForDays: Int?, startsAt: Date? = nil, minutes: Int? = nil, clientIP: String?
    ) async throws -> (Consultation, JoinToken) {
        let title = try Self.validatedTitle(rawTitle)
        let days = validForDays ?? Consultation.defaultValidDays
        guard Consultation.validDaysRange.contains(days) else {
            throw Failure(code: .badValidity, message: "validForDays must be 1 to 84 (one 12-week frisklivsresept).")
        }
        guard startsAt != nil || minutes == nil else {
            throw Failure(code: .badBooking, message: "minutes needs startsAt.")
        }
        let now = clock.now
        let token = JoinToken.random()
        var consultation = Consultation(
            id: .random(), owner: owner.id, title: title, createdAt: now,
            expiresAt: now.addingTimeInterval(TimeInterval(days) * 86_400))
        if let startsAt {
            (consultation.booking, consultation.expiresAt) = try Self.validatedBooking(startsAt, minutes, for: consultation, now: now)
        }
        try await store.insertConsultation(consultation, link: JoinLink(role: .deltaker, hash: token.hash, issuedAt: now))
        let booked = consultation.booking.map { ", booked for \($0.minutes) minutes" } ?? ""
        try await auditor.record(
            .consultationCreate, actor: .user(owner), consultation: consultation.id, outcome: .allowed,
            reason: "veileder created a consultation valid until \(AuditEntry.timestamp(consultation.expiresAt))\(booked)", clientIP: clientIP)
        return (consultation, token)
    }

    /// Sets, moves (`startsAt` given) or removes (nil) the booked time of an
    /// active consultation; the expiry grows to cover it, never shrinks.
    public func book(owner: Account, id: ConsultationID, startsAt: Date?, minutes: Int?, clientIP: String?) async throws -> Consultation {
        var consultation = try await owned(id, by: owner, action: .consultationBooking, clientIP: clientIP)
        let now = clock.now
        switch consultation.status(at: now) {
        case .active: break
        case .ended: throw Failure(code: .ended, message: "This consultation has ended.")
        case .expired: throw Failure(code: .expired, message: "This consultation has expired.")
        }
        if let startsAt {
            // A moved time keeps its length unless a new one is given.
            (consultation.booking, consultation.expiresAt) = try Self.validatedBooking(
                startsAt, minutes ?? consultation.booking?.minutes, for: consultation, now: now)
        } else {
            consultation.booking = nil
        }
        guard try await store.setBooking(consultation.booking, expiresAt: consultation.expiresAt, of: id) else {
            throw Failure(code: .notFound, message: "No such consultation.")
        }
        try await auditor.record(
            .consultationBooking, actor: .user(owner), consultation: id, outcome: .allowed,
            reason: consultation.booking.map { "veileder booked the consultation for \($0.minutes) minutes" } ?? "veileder removed the booked time",
            clientIP: clientIP)
        return consultation
    }

    private static func validatedBooking(
        _ startsAt: Date, _ minutes: Int?, for consultation: Consultation, now: Date
    ) throws -> (Booking, Date) {
        do {
            return try Booking.validated(
                startsAt: startsAt, minutes: minutes, createdAt: consultation.createdAt, expiresAt: consultation.expiresAt, now: now)
        } catch {
            throw Failure(code: .badBooking, message: error.message)
        }
    }

    /// The veileder's own consultations. Not logged: it is their own list,
    /// which their page reads every few seconds (720 entries an hour each
    /// would bury the accesses that matter); opening, new links and ending are.
    public func list(owner: Account) async throws -> [Consultation] {
        try await store.consultations(owner: owner.id)
    }

    /// A fresh link for `role` (deltaker or tolk); that role's previous link
    /// stops working at once, and whoever waits in the lobby with it goes.
    public func newLink(owner: Account, id: ConsultationID, role: ParticipantRole, clientIP: String?) async throws -> (Consultation, JoinLink, JoinToken) {
        let consultation = try await owned(id, by: owner, action: .consultationNewLink, clientIP: clientIP)
        switch consultation.status(at: clock.now) {
        case .active: break
        case .ended: throw Failure(code: .ended, message: "This consultation has ended.")
        case .expired: throw Failure(code: .expired, message: "This consultation has expired.")
        }
        guard ParticipantRole.invited.contains(role) else {
            throw Failure(code: .badRole, message: "A link is for the role \"deltaker\" or \"tolk\".")
        }
        let token = JoinToken.random()
        let link = JoinLink(role: role, hash: token.hash, issuedAt: clock.now)
        let replaced = try await store.links(of: id).contains { $0.role == role }
        try await store.replaceLink(of: id, with: link)
        try await auditor.record(
            .consultationNewLink, actor: .user(owner), consultation: id, outcome: .allowed,
            reason: replaced ? "veileder replaced the \(role.rawValue) link; the old one is revoked" : "veileder made a \(role.rawValue) link",
            clientIP: clientIP)
        await cluster.announce(.linkReplaced(id, role))
        return (consultation, link, token)
    }

    /// The current links' roles and when each was made.
    public func links(of consultation: Consultation) async throws -> [JoinLink] {
        try await store.links(of: consultation.id)
    }

    /// Ends it; everyone in the room is told and disconnected. Idempotent.
    public func end(owner: Account, id: ConsultationID, clientIP: String?) async throws -> Consultation {
        let consultation = try await owned(id, by: owner, action: .consultationEnd, clientIP: clientIP)
        let now = clock.now
        if try await store.endConsultation(id, at: now) {
            try await auditor.record(
                .consultationEnd, actor: .user(owner), consultation: id, outcome: .allowed,
                reason: "veileder ended the consultation", clientIP: clientIP)
        }
        await cluster.announce(.consultationEnded(id))
        return try await store.consultation(id: id) ?? consultation
    }

    /// The consultation if `owner` owns it; otherwise 404 (its existence is
    /// not revealed) and a denied entry in the audit log.
    func owned(_ id: ConsultationID, by owner: Account, action: AuditAction, clientIP: String?) async throws -> Consultation {
        if let found = try await store.consultation(id: id), found.owner == owner.id {
            return found
        }
        try await auditor.record(
            action, actor: .user(owner), consultation: id, outcome: .denied,
            reason: "not the owner of this consultation", clientIP: clientIP)
        throw Failure(code: .notFound, message: "No such consultation.")
    }

    static func validatedTitle(_ raw: String?) throws -> String? {
        guard let raw else { return nil }
        let title = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if title.isEmpty { return nil }
        guard title.count <= Consultation.maxTitleLength else {
            throw Failure(code: .badTitle, message: "A title is at most \(Consultation.maxTitleLength) characters.")
        }
        guard !title.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0.properties.generalCategory == .format }) else {
            throw Failure(code: .badTitle, message: "A title cannot contain control characters.")
        }
        return title
    }
}
