import Foundation
import Hummingbird
import SamromCore

/// The veileder's consultations: create, list, book, new links (per role), end.
struct ConsultationController {
    let consultations: ConsultationService
    let hub: SignallingHub
    let joinURLs: JoinURLs
    let clock: WallClock
    /// How long before a booked start the lobby opens.
    let lobbyWindow: TimeInterval

    struct Created: ResponseEncodable {
        let id: String
        let joinUrl: String
        let expiresAt: String
        let title: String?
    }

    /// `POST …/links`: the link for one role.
    struct NewLink: ResponseEncodable {
        let joinUrl: String
        let role: String
        let expiresAt: String
    }

    /// When a role's current link was made (never the link itself: only its hash is kept).
    struct LinkSummary: ResponseEncodable {
        let role: String
        let issuedAt: String
    }

    struct Summary: ResponseEncodable {
        let id: String
        let title: String?
        let status: String
        let createdAt: String
        let expiresAt: String
        let endedAt: String?
        let links: [LinkSummary]
        /// Deltakere knocking right now.
        let waiting: Int
        /// Participants in the call right now.
        let inCall: Int
        /// The route key for `/ws?r=…` (issue 14): the veileder's page
        /// connects with it, so the load balancer sends it to the call's home.
        let route: String
        /// The booked time, its expected length, and when the lobby opens.
        let startsAt: String?
        let minutes: Int?
        let opensAt: String?
    }

    struct Listing: ResponseEncodable {
        let consultations: [Summary]
    }

    func register(on router: Router<SamromRequestContext>) {
        let group = router.group("/api/consultations")
        group.post(use: create)
        group.get(use: list)
        group.post("/:id/link", use: newLink)
        group.post("/:id/links", use: newRoleLink)
        group.post("/:id/end", use: end)
        group.put("/:id/booking", use: book)
        group.delete("/:id/booking", use: unbook)
    }

    @Sendable func create(_ request: Request, context: SamromRequestContext) async throws -> EditedResponse<Created> {
        let owner = try context.requireRole(.veileder)
        let body = try await JSONBody.decode(APIRequests.CreateConsultation.self, from: request, context: context)
        let startsAt = try body.startsAt.map { try Self.date($0, field: "startsAt") }
        let (consultation, token) = try await Self.mapped {
            try await consultations.create(
                owner: owner, title: body.title, validForDays: body.validForDays, startsAt: startsAt, minutes: body.minutes,
                clientIP: context.clientIP)
        }
        return EditedResponse(
            status: .created, headers: [.cacheControl: "no-store"],
            response: Created(
                id: consultation.id.rawValue, joinUrl: try joinURL(token, for: consultation.id, request: request),
                expiresAt: ServerMessage.timestamp(consultation.expiresAt), title: consultation.title))
    }

    @Sendable func list(_ request: Request, context: SamromRequestContext) async throws -> Listing {
        let owner = try context.requireRole(.veileder)
        let now = clock.now
        let owned = try await consultations.list(owner: owner)
        let active = owned.filter { $0.status(at: now) == .active }.map(\.id)
        let present = try await hub.presence(of: active)
        var summaries: [Summary] = []
        for c in owned {
            let presence = present[c.id] ?? .nobody
            summaries.append(try await summary(c, now: now, presence: (presence.waiting, presence.inCall)))
        }
        return Listing(consultations: summaries)
    }

    /// The deltaker link, as before protocol v2 (same as `links` with `deltaker`).
    @Sendable func newLink(_ request: Request, context: SamromRequestContext) async throws -> EditedResponse<Created> {
        let owner = try context.requireRole(.veileder)
        let id = try consultationID(context)
        let (consultation, _, token) = try await Self.mapped {
            try await consultations.newLink(owner: owner, id: id, role: .deltaker, clientIP: context.clientIP)
        }
        return EditedResponse(
            status: .ok, headers: [.cacheControl: "no-store"],
            response: Created(
                id: consultation.id.rawValue, joinUrl: try joinURL(token, for: consultation.id, request: request),
                expiresAt: ServerMessage.timestamp(consultation.expiresAt), title: consultation.title))
    }

    /// `{role: "deltaker"|"tolk"}` → 201 `{joinUrl, role, expiresAt}`.
    @Sendable func newRoleLink(_ request: Request, context: SamromRequestContext) async throws -> EditedResponse<NewLink> {
        let owner = try context.requireRole(.veileder)
        let id = try consultationID(context)
        let body = try await JSONBody.decode(APIRequests.NewLink.self, from: request, context: context)
        // Which roles may have a link is the service's to say.
        guard let role = ParticipantRole(rawValue: body.role) else {
            throw APIError.badField("\"role\" must be \"deltaker\" or \"tolk\".")
        }
        let (consultation, link, token) = try await Self.mapped {
            try await consultations.newLink(owner: owner, id: id, role: role, clientIP: context.clientIP)
        }
        return EditedResponse(
            status: .created, headers: [.cacheControl: "no-store"],
            response: NewLink(
                joinUrl: try joinURL(token, for: consultation.id, request: request), role: link.role.rawValue,
                expiresAt: ServerMessage.timestamp(consultation.expiresAt)))
    }

    /// `PUT …/booking {startsAt, minutes?}`: books or moves the time.
    @Sendable func book(_ request: Request, context: SamromRequestContext) async throws -> Summary {
        let owner = try context.requireRole(.veileder)
        let id = try consultationID(context)
        let body = try await JSONBody.decode(APIRequests.Booking.self, from: request, context: context)
        let startsAt = try Self.date(body.startsAt, field: "startsAt")
        let c = try await Self.mapped {
            try await consultations.book(owner: owner, id: id, startsAt: startsAt, minutes: body.minutes, clientIP: context.clientIP)
        }
        return try await summary(c, now: clock.now, presence: (0, 0))
    }

    /// `DELETE …/booking`: no booked time any more; the links work at any time.
    @Sendable func unbook(_ request: Request, context: SamromRequestContext) async throws -> Summary {
        let owner = try context.requireRole(.veileder)
        let id = try consultationID(context)
        let c = try await Self.mapped {
            try await consultations.book(owner: owner, id: id, startsAt: nil, minutes: nil, clientIP: context.clientIP)
        }
        return try await summary(c, now: clock.now, presence: (0, 0))
    }

    @Sendable func end(_ request: Request, context: SamromRequestContext) async throws -> Summary {
        let owner = try context.requireRole(.veileder)
        let id = try consultationID(context)
        let c = try await Self.mapped { try await consultations.end(owner: owner, id: id, clientIP: context.clientIP) }
        return try await summary(c, now: clock.now, presence: (0, 0))
    }

    private func summary(_ c: Consultation, now: Date, presence: (waiting: Int, inCall: Int)) async throws -> Summary {
        Summary(
            id: c.id.rawValue, title: c.title, status: c.status(at: now).rawValue,
            createdAt: ServerMessage.timestamp(c.createdAt), expiresAt: ServerMessage.timestamp(c.expiresAt),
            endedAt: c.endedAt.map(ServerMessage.timestamp),
            links: try await consultations.links(of: c).map { LinkSummary(role: $0.role.rawValue, issuedAt: ServerMessage.timestamp($0.issuedAt)) },
            waiting: presence.waiting, inCall: presence.inCall, route: RouteKey.of(c.id, secret: joinURLs.routeSecret).rawValue,
            startsAt: c.booking.map { ServerMessage.timestamp($0.startsAt) }, minutes: c.booking?.minutes,
            opensAt: c.booking.map { ServerMessage.timestamp($0.opensAt(window: lobbyWindow)) })
    }

    /// An RFC 3339 time from a request, or 400 naming the field.
    static func date(_ text: String, field: String) throws -> Date {
        guard let date = AuditEntry.parseTimestamp(text) else {
            throw APIError.badField("\"\(field)\" must be an RFC 3339 time, like 2026-12-08T10:00:00+01:00.")
        }
        return date
    }

    private func consultationID(_ context: SamromRequestContext) throws -> ConsultationID {
        try context.consultationParameter()
    }

    private func joinURL(_ token: JoinToken, for consultation: ConsultationID, request: Request) throws -> String {
        try joinURLs.url(token, for: consultation, request: request)
    }

    /// The service's refusals as HTTP answers (also for the invitations).
    static func mapped<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let failure as ConsultationService.Failure {
            switch failure.code {
            case .notFound: throw APIError.notFound
            case .ended: throw APIError(.conflict, "ended", failure.message)
            case .expired: throw APIError(.conflict, "expired", failure.message)
            case .badTitle, .badValidity, .badRole, .badBooking: throw APIError.badField(failure.message)
            }
        }
    }
}
