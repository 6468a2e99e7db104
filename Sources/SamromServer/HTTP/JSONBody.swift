import Foundation
import Hummingbird
import NIOCore
import SamromCore

/// Reads a JSON request body, bounded in size, and decodes it with
/// `APIRequestDecoder`: not a JSON object is `bad-request`; a bad field is
/// `bad-field`, naming the field but never echoing its value.
enum JSONBody {
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, context: SamromRequestContext) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch {
            throw APIError(.contentTooLarge, "too-large", "The request body is too large.")
        }
        do {
            return try APIRequestDecoder.decode(T.self, from: Data(buffer.readableBytesView))
        } catch .notAnObject {
            throw APIError.badRequest("The body must be a JSON object.")
        } catch .badField(let message) {
            throw APIError.badField(message)
        }
    }
}
