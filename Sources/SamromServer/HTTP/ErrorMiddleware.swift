import Hummingbird
import Logging

/// Turns every error into the API's JSON error shape, so no handler can leak
/// a stack trace or an HTML page, and unknown errors become a plain 500.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch let error as HTTPError {
            return try Self.map(error).response(from: request, context: context)
        } catch {
            // The type only: an error's text might hold request data.
            context.logger.error("request failed", metadata: ["error.type": "\(type(of: error))"])
            return try APIError.internalError.response(from: request, context: context)
        }
    }

    static func map(_ error: HTTPError) -> APIError {
        switch error.status {
        case .notFound: return .notFound
        case .methodNotAllowed: return APIError(.methodNotAllowed, "method-not-allowed", "That method is not allowed here.")
        case .contentTooLarge: return APIError(.contentTooLarge, "too-large", "The request body is too large.")
        case .badRequest: return .badRequest("The request could not be read.")
        case .unsupportedMediaType: return APIError(.unsupportedMediaType, "unsupported-media-type", "Send JSON.")
        default: return APIError(error.status, "http-\(error.status.code)", error.status.reasonPhrase)
        }
    }
}
