import Foundation
import Hummingbird
import NIOCore
import SamromCore

/// Decodes a JSON request body: a body that is not a JSON object is
/// `bad-request`; a field that is missing, mistyped or out of range is
/// `bad-field`, naming the field but never echoing its value.
enum JSONBody {
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, context: SamromRequestContext) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch {
            throw APIError(.contentTooLarge, "too-large", "The request body is too large.")
        }
        let data = Data(buffer.readableBytesView)
        // Syntax first, so that a well-formed object with a bad field is told apart from broken JSON.
        guard case .object? = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            throw APIError.badRequest("The body must be a JSON object.")
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch DecodingError.keyNotFound(let key, _) {
            throw APIError.badField("\"\(key.stringValue)\" is required.")
        } catch DecodingError.typeMismatch(_, let context) {
            throw APIError.badField("\(name(context.codingPath)) has the wrong type.")
        } catch DecodingError.valueNotFound(_, let context) {
            throw APIError.badField("\(name(context.codingPath)) cannot be null.")
        } catch DecodingError.dataCorrupted(let context) {
            throw APIError.badField("\(name(context.codingPath)) is out of range or malformed.")
        } catch {
            throw APIError.badField("A field is malformed.")
        }
    }

    private static func name(_ path: [any CodingKey]) -> String {
        path.isEmpty ? "A field" : "\"" + path.map(\.stringValue).joined(separator: ".") + "\""
    }
}
