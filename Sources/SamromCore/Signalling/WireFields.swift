import Foundation

/// Any JSON object key, for reading a frame's fields by name.
struct WireKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// A frame's JSON object, read through `Codable` with errors that name the
/// field: a missing or mistyped field is `bad-field`, an overlong one
/// `too-large`. Unknown fields are ignored.
struct WireFields {
    let container: KeyedDecodingContainer<WireKey>

    init(_ decoder: any Decoder) throws(SignalError) {
        do {
            container = try decoder.container(keyedBy: WireKey.self)
        } catch {
            throw SignalError(.badJSON, "a message must be a JSON object")
        }
    }

    private init(container: KeyedDecodingContainer<WireKey>) { self.container = container }

    func optionalString(_ key: String, maxBytes: Int) throws(SignalError) -> String? {
        let text: String?
        do {
            text = try container.decodeIfPresent(String.self, forKey: WireKey(key))
        } catch {
            throw SignalError(.badField, "\"\(key)\" must be a string")
        }
        if let text, text.utf8.count > maxBytes { throw SignalError(.tooLarge, "\"\(key)\" is too long") }
        return text
    }

    func string(_ key: String, maxBytes: Int) throws(SignalError) -> String {
        guard let text = try optionalString(key, maxBytes: maxBytes) else { throw SignalError(.badField, "\"\(key)\" is required") }
        return text
    }

    func optionalInt(_ key: String) throws(SignalError) -> Int? {
        do {
            return try container.decodeIfPresent(Int.self, forKey: WireKey(key))
        } catch {
            throw SignalError(.badField, "\"\(key)\" must be an integer")
        }
    }

    func bool(_ key: String) throws(SignalError) -> Bool {
        let value: Bool?
        do {
            value = try container.decodeIfPresent(Bool.self, forKey: WireKey(key))
        } catch {
            throw SignalError(.badField, "\"\(key)\" must be true or false")
        }
        guard let value else { throw SignalError(.badField, "\"\(key)\" is required") }
        return value
    }

    func participant() throws(SignalError) -> ParticipantID {
        let text = try string("participant", maxBytes: 64)
        guard !text.isEmpty else { throw SignalError(.badField, "\"participant\" is empty") }
        return ParticipantID(rawValue: text)
    }

    /// The objects of an array field, each read with the same care.
    func objects(_ key: String, maxCount: Int) throws(SignalError) -> [WireFields] {
        var list: UnkeyedDecodingContainer
        do {
            list = try container.nestedUnkeyedContainer(forKey: WireKey(key))
        } catch {
            throw SignalError(.badField, "\"\(key)\" must be an array")
        }
        var items: [WireFields] = []
        while !list.isAtEnd {
            guard items.count < maxCount else { throw SignalError(.badField, "\"\(key)\" has more than \(maxCount) entries") }
            do {
                items.append(WireFields(container: try list.nestedContainer(keyedBy: WireKey.self)))
            } catch {
                throw SignalError(.badField, "\"\(key)\" must hold objects")
            }
        }
        return items
    }
}
