import Foundation
import Hummingbird
import SamromCore

/// `GET /api/stats?month=YYYY-MM[&format=csv][&lang=nb|en]`: the anonymous
/// monthly figures. A leder gets the centre's; a veileder only their own
/// consultations'; anyone else 403. Every read is in the audit log.
struct StatsController {
    let figures: FiguresService
    let timeZone: TimeZone

    func register(on router: Router<SamromRequestContext>) {
        router.get("/api/stats", use: stats)
    }

    @Sendable func stats(_ request: Request, context: SamromRequestContext) async throws -> Response {
        let account = try context.requireAccount()
        let owner: AccountID?
        switch account.role {
        case .leder: owner = nil
        case .veileder: owner = account.id
        case .privacyOfficer, .admin:
            try await figures.refused(reader: .user(account), clientIP: context.clientIP)
            throw APIError.forbidden("The figures are for the leder, and each veileder's own for them.")
        }
        let query = request.uri.queryParameters
        guard let raw = query["month"], let month = ReportMonth(String(raw)) else {
            throw APIError.badField("\"month\" must be a month as YYYY-MM, like 2026-11.")
        }
        guard let language = Language(rawValue: query["lang"].map(String.init) ?? Language.nb.rawValue) else {
            throw APIError.badField("\"lang\" must be \"nb\" or \"en\".")
        }
        let format = query["format"].map(String.init) ?? "json"
        guard ["json", "csv"].contains(format) else { throw APIError.badField("\"format\" must be \"json\" or \"csv\".") }
        let result = try await figures.figures(
            month: month, timeZone: timeZone, owner: owner, reader: .user(account), clientIP: context.clientIP)
        var headers = HTTPFields()
        headers[.cacheControl] = "no-store"
        let body: String
        if format == "csv" {
            headers[.contentType] = "text/csv; charset=utf-8"
            headers[.contentDisposition] = "attachment; filename=\"samrom-\(month).csv\""
            body = result.csv(language: language)
        } else {
            headers[.contentType] = "application/json; charset=utf-8"
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            body = String(decoding: try encoder.encode(result.report(language: language)), as: UTF8.self)
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
