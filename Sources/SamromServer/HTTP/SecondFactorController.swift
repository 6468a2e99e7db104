import Foundation
import HTTPTypes
import Hummingbird
import SamromCore

/// Setting up a TOTP second factor: `POST /api/me/totp` (a new secret) and
/// `POST /api/me/totp/confirm` (a first code; the recovery codes). From the
/// person's own page with a session, or, with `--require-second-factor`,
/// with the pending cookie of a login that may do nothing else; confirming
/// then opens the session.
struct SecondFactorController {
    let accounts: AccountService

    struct Enrolment: ResponseEncodable {
        let secret: String
        let otpauthUrl: String
        /// The URL as a QR code, an SVG made here (no third party sees the secret).
        let qrSvg: String
    }

    struct RecoveryCodes: ResponseEncodable {
        let recoveryCodes: [String]
    }

    func register(on router: Router<SamromRequestContext>) {
        router.post("/api/me/totp", use: begin)
        router.post("/api/me/totp/confirm", use: confirm)
    }

    @Sendable func begin(_ request: Request, context: SamromRequestContext) async throws -> Response {
        let account: Account
        if let session = context.account {
            account = session
        } else if let pending = SessionController.pendingToken(request) {
            guard let (_, owner) = try await accounts.pendingEnrolment(pending, for: .startEnrolment) else { throw APIError.loginExpired }
            account = owner
        } else {
            throw APIError.unauthenticated
        }
        guard let enrolment = try await accounts.secondFactors.begin(for: account, clientIP: context.clientIP) else {
            throw APIError.secondFactorEnrolled
        }
        let qr = try QRCode(enrolment.otpauthURL).svg(label: "QR code for the authenticator app")
        return try Self.private(Enrolment(secret: enrolment.secret, otpauthUrl: enrolment.otpauthURL, qrSvg: qr), request, context)
    }

    @Sendable func confirm(_ request: Request, context: SamromRequestContext) async throws -> Response {
        let body = try await JSONBody.decode(APIRequests.SecondFactorCode.self, from: request, context: context)
        if let account = context.account {
            let codes = try await confirmed(body.code, for: account, context: context)
            return try Self.private(RecoveryCodes(recoveryCodes: codes.map(\.display)), request, context)
        }
        guard let pending = SessionController.pendingToken(request) else { throw APIError.unauthenticated }
        guard let (login, account) = try await accounts.pendingEnrolment(pending, for: .confirmEnrolment) else {
            throw APIError.loginExpired
        }
        let codes = try await confirmed(body.code, for: account, context: context)
        // Set up: the login it waited for becomes a session.
        guard let token = try await accounts.completeEnrolment(login, account: account, clientIP: context.clientIP) else {
            throw APIError.loginExpired
        }
        var response = try Self.private(RecoveryCodes(recoveryCodes: codes.map(\.display)), request, context)
        response.headers.append(HTTPField(name: .setCookie, value: SessionController.cookie(value: token.encoded, maxAge: accounts.sessionMaxAge)))
        response.headers.append(HTTPField(name: .setCookie, value: SessionController.pendingCookie(value: "", maxAge: 0)))
        return response
    }

    private func confirmed(_ code: String, for account: Account, context: SamromRequestContext) async throws -> [RecoveryCode] {
        switch try await accounts.secondFactors.confirm(code, for: account, clientIP: context.clientIP) {
        case .confirmed(let codes): return codes
        case .wrongCode: throw APIError.wrongCode
        case .notStarted: throw APIError.noEnrolment
        }
    }

    /// Secrets are shown once: never cached.
    static func `private`(_ body: some ResponseEncodable, _ request: Request, _ context: SamromRequestContext) throws -> Response {
        var response = try body.response(from: request, context: context)
        response.headers[.cacheControl] = "no-store"
        return response
    }
}

extension APIError {
    static let secondFactorEnrolled = APIError(
        .conflict, "second-factor-enrolled", "A second factor is set up already; an administrator can reset it.")
    static let noEnrolment = APIError(.conflict, "no-enrolment", "Start setting up the authenticator app first.")
    /// 401 like a wrong code at login: a proof of the factor failed.
    static let wrongCode = APIError(
        .unauthorized, "wrong-code", "That code does not match; type the newest code the app shows (its clock must be right).")
}
