import Foundation
import Hummingbird
import NIOCore
import SamromCore

/// `/api/audit…` for the personvernombud, and `/api/access-report` for a
/// deltaker. Every request states a purpose (required where the brief says
/// so) and is logged before anything is read.
struct AuditController {
    let audit: AuditService
    let log: TransparencyLog
    let store: any AuditStore

    func register(on router: Router<SamromRequestContext>) {
        let group = router.group("/api/audit")
        group.get(use: search)
        group.get("/export", use: export)
        group.get("/checkpoint", use: checkpoint)
        group.get("/public-key", use: publicKey)
        group.get("/verify", use: verify)
        group.get("/proof/inclusion", use: inclusionProof)
        group.get("/proof/consistency", use: consistencyProof)
        router.post("/api/access-report", use: accessReport)
    }

    // MARK: Personvernombud

    struct SearchResult: ResponseEncodable {
        let entries: [JSONValue]
        let more: Bool
        /// Pass as `after` for the next page.
        let next: UInt64?
    }

    @Sendable func search(_ request: Request, context: SamromRequestContext) async throws -> SearchResult {
        let query = request.uri.queryParameters
        let filter = try Self.filter(query)
        let limit = try Self.integer(query, "limit", default: 100, range: 1...1000)
        try await authorize(request, context, .auditSearch, purposeRequired: true, searched: filter)
        let (records, more) = try await audit.search(filter, limit: limit)
        let entries = try records.compactMap { record -> JSONValue? in
            guard let bytes = record.canonicalBytes else { return nil }
            return try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        }
        return SearchResult(entries: entries, more: more, next: more ? records.last?.seq : nil)
    }

    @Sendable func export(_ request: Request, context: SamromRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        guard let format = AuditExportFormat(rawValue: query.get("format") ?? "jsonl") else {
            throw APIError.badField("format must be jsonl or csv.")
        }
        try await authorize(request, context, .auditExport, purposeRequired: true, searched: AuditFilter())
        let store = self.store
        let body = ResponseBody { writer in
            try await format.export(from: store) { bytes in try await writer.write(ByteBuffer(bytes: bytes)) }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: format.contentType, .cacheControl: "no-store",
                .contentDisposition: "attachment; filename=\"samrom-audit.\(format.rawValue)\"",
            ],
            body: body)
    }

    @Sendable func checkpoint(_ request: Request, context: SamromRequestContext) async throws -> Response {
        try await authorize(request, context, .auditCheckpoint, purposeRequired: false)
        // Signed now, so it covers every entry including this request's own.
        let note = try await log.checkpoint()
        return Self.text(note)
    }

    @Sendable func publicKey(_ request: Request, context: SamromRequestContext) async throws -> Response {
        try await authorize(request, context, .auditCheckpoint, purposeRequired: false)
        return Self.text(log.verifier.verifierKey + "\n")
    }

    struct Verification: ResponseEncodable {
        struct Problem: Codable {
            let seq: UInt64?
            let reason: String
        }
        let intact: Bool
        let size: UInt64
        let root: String
        let erased: UInt64
        let checkpointsVerified: Int
        let failure: Problem?
        let checkpoint: String
        let verifierKey: String
    }

    @Sendable func verify(_ request: Request, context: SamromRequestContext) async throws -> Verification {
        try await authorize(request, context, .auditVerify, purposeRequired: false)
        let note = try await log.checkpoint()
        let report = try await audit.verify()
        return Verification(
            intact: report.isIntact, size: report.size, root: Data(report.root).base64EncodedString(), erased: report.erased,
            checkpointsVerified: report.checkpointsVerified,
            failure: report.failure.map { .init(seq: $0.seq, reason: $0.description) },
            checkpoint: note, verifierKey: log.verifier.verifierKey)
    }

    struct InclusionProof: ResponseEncodable {
        let index: UInt64
        let size: UInt64
        let leafHash: String
        let path: [String]
    }

    @Sendable func inclusionProof(_ request: Request, context: SamromRequestContext) async throws -> InclusionProof {
        let query = request.uri.queryParameters
        let index = try Self.unsigned(query, "index")
        let size = try Self.unsigned(query, "size")
        try await authorize(request, context, .auditProof, purposeRequired: false)
        do {
            let path = try await log.inclusionProof(index: index, size: size)
            let leaf = try await store.auditRecords(from: index, limit: 1).first
            return InclusionProof(
                index: index, size: size, leafHash: leaf.map { Data($0.leafHash).base64EncodedString() } ?? "",
                path: path.map { Data($0).base64EncodedString() })
        } catch let error as MerkleTree.ProofError {
            throw APIError.badField(error.description)
        }
    }

    struct ConsistencyProof: ResponseEncodable {
        let from: UInt64
        let to: UInt64
        let path: [String]
    }

    @Sendable func consistencyProof(_ request: Request, context: SamromRequestContext) async throws -> ConsistencyProof {
        let query = request.uri.queryParameters
        let from = try Self.unsigned(query, "from")
        let to = try Self.unsigned(query, "to")
        try await authorize(request, context, .auditProof, purposeRequired: false)
        do {
            let path = try await log.consistencyProof(from: from, to: to)
            return ConsistencyProof(from: from, to: to, path: path.map { Data($0).base64EncodedString() })
        } catch let error as MerkleTree.ProofError {
            throw APIError.badField(error.description)
        }
    }

    // MARK: A deltaker's own view

    struct AccessReportResponse: ResponseEncodable {
        struct Info: Codable {
            let createdAt: String
            let expiresAt: String
            let endedAt: String?
        }
        struct Access: Codable {
            let at: String
            let action: String
            let outcome: String
            let role: String
            let name: String?
        }
        let consultation: Info
        let accesses: [Access]
    }

    /// POST, with the token in the body: it comes from the link's fragment
    /// and must never appear in a URL.
    @Sendable func accessReport(_ request: Request, context: SamromRequestContext) async throws -> AccessReportResponse {
        let body = try await JSONBody.decode(APIRequests.AccessReport.self, from: request, context: context)
        guard let token = JoinToken.parse(body.token),
            let report = try await audit.accessReport(token: token, clientIP: context.clientIP)
        else { throw APIError(.notFound, "invalid-token", "This link is not valid.") }
        let c = report.consultation
        return AccessReportResponse(
            consultation: .init(
                createdAt: AuditEntry.timestamp(c.createdAt), expiresAt: AuditEntry.timestamp(c.expiresAt),
                endedAt: c.endedAt.map(AuditEntry.timestamp)),
            accesses: report.accesses.map {
                .init(at: AuditEntry.timestamp($0.at), action: $0.action, outcome: $0.outcome, role: $0.role, name: $0.name)
            })
    }

    // MARK: Helpers

    private func authorize(
        _ request: Request, _ context: SamromRequestContext, _ action: AuditAction, purposeRequired: Bool,
        searched filter: AuditFilter? = nil
    ) async throws {
        let account = try context.requireAccount()
        let raw = request.uri.queryParameters.get("purpose")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if account.role == .privacyOfficer {
            if purposeRequired && raw.isEmpty { throw APIError.badField("purpose is required: say why you need to read the log.") }
            guard raw.count <= AuditService.maxPurposeLength,
                !raw.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
            else { throw APIError.badField("purpose must be at most \(AuditService.maxPurposeLength) characters of text.") }
        }
        let purpose = raw.isEmpty ? "integrity check" : raw
        do {
            try await audit.authorize(
                account, action, purpose: purpose, searched: filter?.searched, consultation: filter?.consultation,
                clientIP: context.clientIP)
        } catch is AuditService.Refused {
            throw APIError.forbidden("Only a personvernombud may use the audit log; this attempt has been logged.")
        }
    }

    static func text(_ body: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func filter(_ query: Parameters) throws -> AuditFilter {
        var filter = AuditFilter()
        filter.from = try date(query, "from")
        filter.to = try date(query, "to")
        if let actor = query.get("actor"), !actor.isEmpty {
            guard actor.utf8.count <= 64 else { throw APIError.badField("actor is too long.") }
            filter.actor = actor
        }
        if let consultation = query.get("consultation"), !consultation.isEmpty {
            guard ConsultationID.isWellFormed(consultation) else { throw APIError.badField("consultation is not an id.") }
            filter.consultation = ConsultationID(rawValue: consultation)
        }
        if let action = query.get("action"), !action.isEmpty {
            guard action.utf8.count <= 64 else { throw APIError.badField("action is too long.") }
            filter.action = AuditAction(rawValue: action)
        }
        if let outcome = query.get("outcome"), !outcome.isEmpty {
            guard let value = AuditOutcome(rawValue: outcome) else { throw APIError.badField("outcome must be allowed, denied or error.") }
            filter.outcome = value
        }
        if query.get("after") != nil { filter.afterSeq = try unsigned(query, "after") }
        return filter
    }

    static func date(_ query: Parameters, _ name: String) throws -> Date? {
        guard let text = query.get(name), !text.isEmpty else { return nil }
        // Only the RFC 3339 shape reaches Foundation's parser, which a long
        // fraction makes raise SIGFPE (found by scripts/fuzz.sh).
        guard AuditEntry.isRFC3339(text) else {
            throw APIError.badField("\(name) must be an RFC 3339 time, e.g. 2026-11-24T09:30:00Z.")
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return date }
        throw APIError.badField("\(name) must be an RFC 3339 time, e.g. 2026-11-24T09:30:00Z.")
    }

    static func unsigned(_ query: Parameters, _ name: String) throws -> UInt64 {
        guard let text = query.get(name), let value = UInt64(text) else {
            throw APIError.badField("\(name) must be a non-negative integer.")
        }
        return value
    }

    static func integer(_ query: Parameters, _ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = query.get(name) else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw APIError.badField("\(name) must be between \(range.lowerBound) and \(range.upperBound).")
        }
        return number
    }
}
