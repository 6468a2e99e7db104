import Foundation
import Hummingbird
import Metrics
import SamromCore

/// Invitations to a booked consultation, for its owner: calendar files, the
/// ready texts for an SMS or an e-mail, and sending the e-mail through the
/// municipality's SMTP server. The words are `Invitation`'s; the join link
/// goes in only when the veileder's page hands it back (the server keeps
/// only its hash), and only after it is checked to be this consultation's
/// current link. An address is used for sending and kept nowhere.
struct InvitationController {
    let consultations: ConsultationService
    let store: any ConsultationStore
    let auditor: Auditor
    let joinURLs: JoinURLs
    let clock: WallClock
    let time: SpokenTime
    let lobbyWindow: TimeInterval
    /// Nil without `--smtp-host`: no e-mail is ever sent then.
    let mailer: SMTPClient?
    let metrics: ServerMetrics

    struct Texts: ResponseEncodable {
        struct Email: Encodable {
            let subject: String
            let body: String
        }
        let sms: String
        let email: Email
    }

    struct Sent: ResponseEncodable {
        let sent: Bool
    }

    func register(on router: Router<SamromRequestContext>) {
        let group = router.group("/api/consultations")
        group.get("/:id/calendar.ics", use: calendarFile)
        group.post("/:id/calendar.ics", use: calendarFileWithLink)
        group.post("/:id/invitation", use: texts)
        group.post("/:id/invitation/email", use: email)
    }

    /// `GET …/calendar.ics?copy=veileder|deltaker&lang=nb|en`: without the link.
    @Sendable func calendarFile(_ request: Request, context: SamromRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        return try await calendar(
            copy: query["copy"].map(String.init), joinURL: nil, language: query["lang"].map(String.init), request: request,
            context: context)
    }

    /// `POST …/calendar.ics {copy, joinUrl?, language?}`: with the link the page holds.
    @Sendable func calendarFileWithLink(_ request: Request, context: SamromRequestContext) async throws -> Response {
        let body = try await JSONBody.decode(APIRequests.Calendar.self, from: request, context: context)
        return try await calendar(copy: body.copy, joinURL: body.joinUrl, language: body.language, request: request, context: context)
    }

    private func calendar(
        copy rawCopy: String?, joinURL rawURL: String?, language rawLanguage: String?, request: Request, context: SamromRequestContext
    ) async throws -> Response {
        let owner = try context.requireRole(.veileder)
        guard let copy = CalendarCopy(rawValue: rawCopy ?? CalendarCopy.veileder.rawValue) else {
            throw APIError.badField("\"copy\" must be \"veileder\" or \"deltaker\".")
        }
        let language = try Self.language(rawLanguage)
        let (consultation, booking) = try await booked(
            try context.consultationParameter(), owner: owner, action: .invitationCalendar, context: context)
        let link = try await link(rawURL, of: consultation, request: request)
        let origin = try joinURLs.origin(request)
        let file = CalendarFile.copy(
            copy, of: consultation, booking: booking, joinURL: link.url, role: link.role, overviewURL: origin + "/",
            host: URL(string: origin)?.host ?? "localhost", lobbyWindowMinutes: lobbyWindowMinutes, language: language, time: time,
            now: clock.now)
        let whose = copy == .veileder ? "the veileder's own" : "the \(link.role.rawValue)'s"
        try await auditor.record(
            .invitationCalendar, actor: .user(owner), consultation: consultation.id, outcome: .allowed,
            reason: "veileder made \(whose) calendar file \(link.url == nil ? "without" : "with") the link", clientIP: context.clientIP)
        var headers = HTTPFields()
        headers[.contentType] = CalendarFile.mediaType
        headers[.contentDisposition] = "attachment; filename=\"samtale.ics\""
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: file.text())))
    }

    /// `POST …/invitation {kind?, joinUrl?, language?}` → the texts to copy.
    @Sendable func texts(_ request: Request, context: SamromRequestContext) async throws -> EditedResponse<Texts> {
        let owner = try context.requireRole(.veileder)
        let body = try await JSONBody.decode(APIRequests.Invitation.self, from: request, context: context)
        let invitation = try await invitation(body, owner: owner, request: request, context: context)
        return EditedResponse(
            headers: [.cacheControl: "no-store"],
            response: Texts(sms: invitation.sms(time), email: .init(subject: invitation.subject(time), body: invitation.body(time))))
    }

    /// `POST …/invitation/email {to, kind?, joinUrl?, language?}`: sends it
    /// now through the configured SMTP server (STARTTLS required).
    @Sendable func email(_ request: Request, context: SamromRequestContext) async throws -> EditedResponse<Sent> {
        let owner = try context.requireRole(.veileder)
        guard let mailer else {
            throw APIError(.conflict, "no-smtp", "This server sends no e-mail: no SMTP server is configured.")
        }
        let body = try await JSONBody.decode(APIRequests.Invitation.self, from: request, context: context)
        guard let to = body.to?.trimmingCharacters(in: .whitespaces), OutgoingMail.isPlausibleAddress(to) else {
            throw APIError.badField("\"to\" must be one e-mail address.")
        }
        let invitation = try await invitation(body, owner: owner, request: request, context: context)
        let what =
            (invitation.kind == .invitation ? "an invitation" : "a reminder")
            + " e-mail to the \(invitation.role.rawValue) \(invitation.joinURL == nil ? "without" : "with") the link"
        let id = try context.consultationParameter()
        do {
            try await mailer.send(OutgoingMail(to: to, subject: invitation.subject(time), body: invitation.body(time)))
        } catch let failure as SMTPFailure where failure.code == .invalidMail {
            // Refused before any connection: nothing was sent.
            throw APIError.badField("\"to\" must be one e-mail address.")
        } catch {
            // Never the address: only that it failed, and how.
            let reason = (error as? SMTPFailure).map { "\($0.code)" } ?? "unknown"
            try await auditor.record(
                .invitationSend, actor: .user(owner), consultation: id, outcome: .error,
                reason: "\(what) from the veileder was not sent (\(reason))", clientIP: context.clientIP)
            metrics.invitationsFailed.increment()
            throw APIError(.badGateway, "smtp-failed", "The e-mail server did not take the message; try again, or send the text another way.")
        }
        try await auditor.record(
            .invitationSend, actor: .user(owner), consultation: id, outcome: .allowed, reason: "veileder sent \(what)",
            clientIP: context.clientIP)
        metrics.invitationsSent.increment()
        return EditedResponse(status: .accepted, headers: [.cacheControl: "no-store"], response: Sent(sent: true))
    }

    // MARK: Helpers

    private var lobbyWindowMinutes: Int { Int((lobbyWindow / 60).rounded()) }

    private func invitation(
        _ body: APIRequests.Invitation, owner: Account, request: Request, context: SamromRequestContext
    ) async throws -> Invitation {
        guard let kind = Invitation.Kind(rawValue: body.kind ?? Invitation.Kind.invitation.rawValue) else {
            throw APIError.badField("\"kind\" must be \"invitation\" or \"reminder\".")
        }
        let language = try Self.language(body.language)
        let (consultation, booking) = try await booked(
            try context.consultationParameter(), owner: owner, action: .invitationSend, context: context)
        let link = try await link(body.joinUrl, of: consultation, request: request)
        return Invitation(
            kind: kind, role: link.role, booking: booking, joinURL: link.url, lobbyWindowMinutes: lobbyWindowMinutes, language: language)
    }

    /// The owner's active consultation and its booked time; 409 `not-booked` without one.
    private func booked(
        _ id: ConsultationID, owner: Account, action: AuditAction, context: SamromRequestContext
    ) async throws -> (Consultation, Booking) {
        let consultation = try await ConsultationController.mapped {
            try await consultations.owned(id, by: owner, action: action, clientIP: context.clientIP)
        }
        switch consultation.status(at: clock.now) {
        case .active: break
        case .ended: throw APIError(.conflict, "ended", "This consultation has ended.")
        case .expired: throw APIError(.conflict, "expired", "This consultation has expired.")
        }
        guard let booking = consultation.booking else {
            throw APIError(.conflict, "not-booked", "This consultation has no booked time; book one first.")
        }
        return (consultation, booking)
    }

    /// The join link to put in, as this server writes it, and whom it is
    /// for; nil (for a deltaker) when the page sent none.
    private func link(_ raw: String?, of consultation: Consultation, request: Request) async throws -> (url: String?, role: ParticipantRole) {
        guard let raw else { return (nil, .deltaker) }
        guard let token = try joinURLs.token(in: raw, request: request),
            let (linked, role) = try await store.consultation(linkHash: token.hash), linked.id == consultation.id
        else {
            throw APIError.badField("\"joinUrl\" is not this consultation's current link.")
        }
        return (try joinURLs.url(token, for: consultation.id, request: request), role)
    }

    static func language(_ raw: String?) throws -> Language {
        guard let language = Language(rawValue: raw ?? Language.nb.rawValue) else {
            throw APIError.badField("\"language\" must be \"nb\" or \"en\".")
        }
        return language
    }
}
