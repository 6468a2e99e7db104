/// A storage failure with a stable code.
public struct StorageError: Error, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// A unique value (username) is taken.
        case conflict
        /// The row does not exist.
        case notFound = "not-found"
        /// The data directory or database cannot be used.
        case unavailable
        /// The stored data is not what this version understands.
        case corrupt
    }

    public let code: Code
    public let reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(code.rawValue): \(reason)" }
}
