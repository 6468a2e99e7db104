import Foundation
import SamromCore

extension FuzzHarness {
    /// `APIRequestDecoder.decode` for every JSON body of the REST API: the same
    /// bytes are tried as each type. A body that decodes is written again and
    /// must decode to the same fields; a refusal names at most a field of
    /// the type, never a value from the body.
    public static let requestBody = FuzzHarness(name: "request-body", maxLength: 2048) { (bytes) throws(InvariantViolation) in
        let data = Data(bytes)
        try roundTrip(APIRequests.Login.self, data, keys: ["username", "password"]) {
            ["username": .string($0.username), "password": .string($0.password)]
        } same: {
            $0.username == $1.username && $0.password == $1.password
        }
        try roundTrip(APIRequests.CreateConsultation.self, data, keys: ["title", "validForDays"]) {
            ["title": $0.title.map(JSONValue.string) ?? .null, "validForDays": $0.validForDays.map { .int(Int64($0)) } ?? .null]
        } same: {
            $0.title == $1.title && $0.validForDays == $1.validForDays
        }
        try roundTrip(APIRequests.NewLink.self, data, keys: ["role"]) {
            ["role": .string($0.role)]
        } same: {
            $0.role == $1.role
        }
        try roundTrip(APIRequests.AccessReport.self, data, keys: ["token"]) {
            ["token": .string($0.token)]
        } same: {
            $0.token == $1.token
        }
    }

    private static func roundTrip<T: Decodable>(
        _ type: T.Type, _ data: Data, keys: [String], write: (T) -> [String: JSONValue], same: (T, T) -> Bool
    ) throws(InvariantViolation) {
        let value: T
        do throws(APIRequestDecoder.Problem) {
            value = try APIRequestDecoder.decode(T.self, from: data)
        } catch {
            if case .badField(let message) = error {
                try require(allowedMessages(keys).contains(message), "\(T.self): the refusal \"\(message)\" is not one of the fixed texts")
            }
            return
        }
        let again: Data
        do {
            again = try JSONEncoder().encode(JSONValue.object(write(value)))
        } catch {
            throw InvariantViolation("\(T.self): a decoded body cannot be written again: \(error)")
        }
        do {
            let decodedAgain = try APIRequestDecoder.decode(T.self, from: again)
            try require(same(value, decodedAgain), "\(T.self): \(value) written again decodes to \(decodedAgain)")
        } catch let error as InvariantViolation {
            throw error
        } catch {
            throw InvariantViolation("\(T.self): \(value) written again does not decode: \(error)")
        }
    }

    /// Every text `APIRequestDecoder` may answer for a type with these keys.
    private static func allowedMessages(_ keys: [String]) -> Set<String> {
        var messages: Set<String> = ["A field is malformed."]
        for name in ["A field"] + keys.map({ "\"\($0)\"" }) {
            messages.insert("\(name) is required.")
            messages.insert("\(name) has the wrong type.")
            messages.insert("\(name) cannot be null.")
            messages.insert("\(name) is out of range or malformed.")
        }
        return messages
    }
}
