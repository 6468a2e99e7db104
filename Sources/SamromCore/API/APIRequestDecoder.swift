import Foundation

/// Decodes a JSON request body: a body that is not a JSON object is told
/// apart from a well-formed object with a missing, mistyped or out-of-range
/// field, which is named but its value never echoed.
public enum APIRequestDecoder {
    public enum Problem: Error, Equatable, Sendable {
        /// The body is not a JSON object.
        case notAnObject
        /// A field is wrong; the message names it, never its value.
        case badField(String)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws(Problem) -> T {
        // Syntax first, so that a well-formed object with a bad field is told apart from broken JSON.
        guard case .object? = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            throw .notAnObject
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch DecodingError.keyNotFound(let key, _) {
            throw .badField("\"\(key.stringValue)\" is required.")
        } catch DecodingError.typeMismatch(_, let context) {
            throw .badField("\(name(context.codingPath)) has the wrong type.")
        } catch DecodingError.valueNotFound(_, let context) {
            throw .badField("\(name(context.codingPath)) cannot be null.")
        } catch DecodingError.dataCorrupted(let context) {
            throw .badField("\(name(context.codingPath)) is out of range or malformed.")
        } catch {
            throw .badField("A field is malformed.")
        }
    }

    private static func name(_ path: [any CodingKey]) -> String {
        path.isEmpty ? "A field" : "\"" + path.map(\.stringValue).joined(separator: ".") + "\""
    }
}
