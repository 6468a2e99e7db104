import Foundation
import Hummingbird
import SamromCore

/// The veileder's consultations: create, list, new link, end.
struct ConsultationController {
    let consultations: ConsultationService
    let hub: SignallingHub
    let policy: OriginPolicy
    let clock: WallClock

    struct CreateRequest: Decodable {
        let title: String?
        let validForDays: Int?
    }

    struct Created: ResponseEncodable {
        let id: String
        let joinUrl: String
        let expiresAt: String
        let title: String?
    }

    struct Summary: ResponseEncodable {
        let id: String
        let title: String?
        let status: String
        let createdAt: String
        let expiresAt: String
        let endedAt: String?
        let linkIssuedAt: String
        /// Deltakere knocking right now.
        let waiting: Int
        /// Participants in the call right now.
        let inCall: Int
    }

    struct Listing: ResponseEncodable {
        let consultations: [Summary]
    }

    func register(on router: Router<SamromRequestContext>) {
        let group = router.group("/api/consultations")
        group.post(use: create)
        group.get(use: list)
        group.post("/:id/link", use: newLink)
        group.post("/:id/end", use: end)
    }

    @Sendable func create(_ request: Request, context: SamromRequestContext) async throws -> EditedResponse<Created> {
        let owner = try context.requireRole(.veileder)
        let body = try await JSONBody.decode(CreateRequest.self, from: request, context: context)
        let (consultation, token) = try await mapped {
            try await consultations.create(owner: owner, title: body.title, validForDays: body.validForDays, clientIP: context.clientIP)
        }
        return EditedResponse(
            status: .created, headers: [.cacheControl: "no-store"],
            response: Created(
                id: consultation.id.rawValue, joinUrl: try joinURL(token, request: request),
                expiresAt: ServerMessage.timestamp(consultation.expiresAt), title: consultation.title))
    }

    @Sendable func list(_ request: Request, context: SamromRequestContext) async throws -> Listing {
        let owner = try context.requireRole(.veileder)
        let now = clock.now
        var summaries: [Summary] = []
        for c in try await consultations.list(owner: owner, clientIP: context.clientIP) {
            let presence = await hub.presence(of: c.id)
            summaries.append(
                Summary(
                    id: c.id.rawValue, title: c.title, status: c.status(at: now).rawValue,
                    createdAt: ServerMessage.timestamp(c.createdAt), expiresAt: ServerMessage.timestamp(c.expiresAt),
                    endedAt: c.endedAt.map(ServerMessage.timestamp), linkIssuedAt: ServerMessage.timestamp(c.linkIssuedAt),
                    waiting: presence.waiting, inCall: presence.inCall))
        }
        return Listing(consultations: summaries)
    }

    @Sendable func newLink(_ request: Request, context: SamromRequestContext) async throws -> EditedResponse<Created> {
        let owner = try context.requireRole(.veileder)
        let id = try consultationID(context)
        let (consultation, token) = try await mapped {
            try await consultations.newLink(owner: owner, id: id, clientIP: context.clientIP)
        }
        return EditedResponse(
            status: .ok, headers: [.cacheControl: "no-store"],
            response: Created(
                id: consultation.id.rawValue, joinUrl: try joinURL(token, request: request),
                expiresAt: ServerMessage.timestamp(consultation.expiresAt), title: consultation.title))
    }

    @Sendable func end(_ request: Request, context: SamromRequestContext) async throws -> Summary {
        let owner = try context.requireRole(.veileder)
        let id = try consultationID(context)
        let c = try await mapped { try await consultations.end(owner: owner, id: id, clientIP: context.clientIP) }
        return Summary(
            id: c.id.rawValue, title: c.title, status: c.status(at: clock.now).rawValue,
            createdAt: ServerMessage.timestamp(c.createdAt), expiresAt: ServerMessage.timestamp(c.expiresAt),
            endedAt: c.endedAt.map(ServerMessage.timestamp), linkIssuedAt: ServerMessage.timestamp(c.linkIssuedAt),
            waiting: 0, inCall: 0)
    }

    private func consultationID(_ context: SamromRequestContext) throws -> ConsultationID {
        guard let raw = context.parameters.get("id"), ConsultationID.isWellFormed(raw) else { throw APIError.notFound }
        return ConsultationID(rawValue: raw)
    }

    /// `https://HOST/j/#TOKEN`: the token travels in the fragment, which
    /// browsers never send to a server or put in a Referer.
    private func joinURL(_ token: JoinToken, request: Request) throws -> String {
        let origin: String
        if let configured = policy.publicOrigin {
            origin = configured
        } else if let authority = request.head.authority, Self.isPlausibleAuthority(authority) {
            origin = "https://" + authority.lowercased()
        } else {
            throw APIError.badRequest("The Host header is missing or malformed.")
        }
        return origin + "/j/#" + token.encoded
    }

    static func isPlausibleAuthority(_ text: String) -> Bool {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]".utf8)
        return !text.isEmpty && text.utf8.count <= 255 && text.utf8.allSatisfy(allowed.contains)
    }

    private func mapped<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let failure as ConsultationService.Failure {
            switch failure.code {
            case .notFound: throw APIError.notFound
            case .ended: throw APIError(.conflict, "ended", failure.message)
            case .expired: throw APIError(.conflict, "expired", failure.message)
            case .badTitle, .badValidity: throw APIError.badField(failure.message)
            }
        }
    }
}
