import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// An HTTP API error: `{"error": {"code": "...", "message": "..."}}` with
/// the right status. Codes are stable; messages are for people.
public struct APIError: HTTPResponseError, Equatable {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.cacheControl] = "no-store"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = try encoder.encode(["error": ["code": code, "message": message]])
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    // The vocabulary used across the API.
    static func badRequest(_ message: String) -> APIError { .init(.badRequest, "bad-request", message) }
    static func badField(_ message: String) -> APIError { .init(.badRequest, "bad-field", message) }
    static let unauthenticated = APIError(.unauthorized, "unauthenticated", "Log in first.")
    static let invalidCredentials = APIError(.unauthorized, "invalid-credentials", "Wrong username or password.")
    static let loginExpired = APIError(
        .unauthorized, "login-expired", "This login has expired or used up its tries; log in again with your password.")
    static let invalidSecondFactor = APIError(.unauthorized, "invalid-second-factor", "Wrong code, or a code that was used already.")
    static func forbidden(_ message: String = "You may not do that.") -> APIError { .init(.forbidden, "forbidden", message) }
    static let notFound = APIError(.notFound, "not-found", "Nothing here.")
    static let crossOrigin = APIError(.forbidden, "cross-origin", "Cross-origin requests are refused.")
    static func tooManyAttempts(retryAfter seconds: Int) -> APIError {
        var headers = HTTPFields()
        headers[.retryAfter] = String(seconds)
        return .init(.tooManyRequests, "too-many-attempts", "Too many attempts; wait and try again.", headers: headers)
    }
    /// Too much work waiting (password checks): try again in a moment.
    static var busy: APIError {
        var headers = HTTPFields()
        headers[.retryAfter] = "1"
        return .init(.serviceUnavailable, "busy", "The server is busy; try again in a moment.", headers: headers)
    }
    static let internalError = APIError(.internalServerError, "internal", "Something went wrong on the server.")
}
