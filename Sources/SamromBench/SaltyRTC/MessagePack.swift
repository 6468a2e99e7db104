/// The part of MessagePack that SaltyRTC's server messages use: maps with
/// string keys whose values are nil, booleans, integers, strings, byte
/// strings and arrays. Encoding picks the shortest form, as the spec asks.
enum MessagePack: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case string(String)
    case binary([UInt8])
    case array([MessagePack])
    case map([(String, MessagePack)])

    static func == (lhs: MessagePack, rhs: MessagePack) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.int(let a), .int(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.binary(let a), .binary(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.map(let a), .map(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    subscript(key: String) -> MessagePack? {
        guard case .map(let pairs) = self else { return nil }
        return pairs.first { $0.0 == key }?.1
    }

    struct DecodingError: Error, CustomStringConvertible {
        let description: String
    }

    // MARK: Encoding

    func encoded() -> [UInt8] {
        var out: [UInt8] = []
        encode(into: &out)
        return out
    }

    private func encode(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(0xC0)
        case .bool(let value): out.append(value ? 0xC3 : 0xC2)
        case .int(let value): Self.encodeInt(value, into: &out)
        case .string(let value):
            let bytes = Array(value.utf8)
            if bytes.count < 32 { out.append(0xA0 | UInt8(bytes.count)) } else { Self.header(bytes.count, 0xD9, 0xDA, 0xDB, into: &out) }
            out += bytes
        case .binary(let bytes):
            Self.header(bytes.count, 0xC4, 0xC5, 0xC6, into: &out)
            out += bytes
        case .array(let items):
            if items.count < 16 { out.append(0x90 | UInt8(items.count)) } else { Self.bigEndian(UInt64(items.count), 0xDC, 0xDD, into: &out) }
            for item in items { item.encode(into: &out) }
        case .map(let pairs):
            if pairs.count < 16 { out.append(0x80 | UInt8(pairs.count)) } else { Self.bigEndian(UInt64(pairs.count), 0xDE, 0xDF, into: &out) }
            for (key, value) in pairs {
                MessagePack.string(key).encode(into: &out)
                value.encode(into: &out)
            }
        }
    }

    private static func encodeInt(_ value: Int64, into out: inout [UInt8]) {
        switch value {
        case 0...127: out.append(UInt8(value))
        case -32 ..< 0: out.append(UInt8(bitPattern: Int8(value)))
        case 128...255: out += [0xCC, UInt8(value)]
        case 256...65535: out += [0xCD, UInt8(value >> 8), UInt8(value & 0xFF)]
        case 65536...Int64(UInt32.max): out.append(0xCE); append(UInt64(value), bytes: 4, into: &out)
        case Int64(Int8.min) ..< -32: out += [0xD0, UInt8(bitPattern: Int8(value))]
        case Int64(Int16.min) ..< Int64(Int8.min): out.append(0xD1); append(UInt64(bitPattern: value), bytes: 2, into: &out)
        case Int64(Int32.min) ..< Int64(Int16.min): out.append(0xD2); append(UInt64(bitPattern: value), bytes: 4, into: &out)
        default: out.append(value > 0 ? 0xCF : 0xD3); append(UInt64(bitPattern: value), bytes: 8, into: &out)
        }
    }

    private static func header(_ count: Int, _ one: UInt8, _ two: UInt8, _ four: UInt8, into out: inout [UInt8]) {
        if count <= 0xFF { out += [one, UInt8(count)] } else { bigEndian(UInt64(count), two, four, into: &out) }
    }

    private static func bigEndian(_ count: UInt64, _ two: UInt8, _ four: UInt8, into out: inout [UInt8]) {
        if count <= 0xFFFF { out.append(two); append(count, bytes: 2, into: &out) } else { out.append(four); append(count, bytes: 4, into: &out) }
    }

    private static func append(_ value: UInt64, bytes: Int, into out: inout [UInt8]) {
        for shift in stride(from: (bytes - 1) * 8, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    // MARK: Decoding

    static func decode(_ bytes: some Collection<UInt8>) throws -> MessagePack {
        var reader = Reader(bytes: Array(bytes))
        let value = try reader.value(depth: 0)
        guard reader.position == reader.bytes.count else { throw DecodingError(description: "trailing bytes") }
        return value
    }

    private struct Reader {
        let bytes: [UInt8]
        var position = 0

        mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
            guard count >= 0, bytes.count - position >= count else { throw DecodingError(description: "truncated") }
            defer { position += count }
            return bytes[position ..< position + count]
        }

        mutating func unsigned(_ count: Int) throws -> UInt64 {
            try take(count).reduce(0) { $0 << 8 | UInt64($1) }
        }

        mutating func value(depth: Int) throws -> MessagePack {
            guard depth < 32 else { throw DecodingError(description: "nested too deeply") }
            let byte = try take(1).first!
            switch byte {
            case 0x00...0x7F: return .int(Int64(byte))
            case 0xE0...0xFF: return .int(Int64(Int8(bitPattern: byte)))
            case 0x80...0x8F: return try map(Int(byte & 0x0F), depth: depth)
            case 0x90...0x9F: return try array(Int(byte & 0x0F), depth: depth)
            case 0xA0...0xBF: return try string(Int(byte & 0x1F))
            case 0xC0: return .null
            case 0xC2: return .bool(false)
            case 0xC3: return .bool(true)
            case 0xC4, 0xC5, 0xC6: return .binary(Array(try take(Int(try unsigned(1 << Int(byte - 0xC4))))))
            case 0xCC, 0xCD, 0xCE, 0xCF:
                let value = try unsigned(1 << Int(byte - 0xCC))
                guard value <= UInt64(Int64.max) else { throw DecodingError(description: "integer too large") }
                return .int(Int64(value))
            case 0xD0, 0xD1, 0xD2, 0xD3:
                let count = 1 << Int(byte - 0xD0)
                let raw = try unsigned(count)
                let shift = UInt64(64 - count * 8)
                return .int(Int64(bitPattern: raw << shift) >> Int64(shift))
            case 0xD9, 0xDA, 0xDB: return try string(Int(try unsigned(1 << Int(byte - 0xD9))))
            case 0xDC, 0xDD: return try array(Int(try unsigned(byte == 0xDC ? 2 : 4)), depth: depth)
            case 0xDE, 0xDF: return try map(Int(try unsigned(byte == 0xDE ? 2 : 4)), depth: depth)
            default: throw DecodingError(description: "unsupported type byte \(byte)")
            }
        }

        mutating func string(_ count: Int) throws -> MessagePack {
            guard let text = String(validating: try take(count), as: UTF8.self) else { throw DecodingError(description: "bad UTF-8") }
            return .string(text)
        }

        mutating func array(_ count: Int, depth: Int) throws -> MessagePack {
            guard count <= bytes.count - position else { throw DecodingError(description: "truncated") }
            return .array(try (0..<count).map { _ in try value(depth: depth + 1) })
        }

        mutating func map(_ count: Int, depth: Int) throws -> MessagePack {
            guard count <= bytes.count - position else { throw DecodingError(description: "truncated") }
            return .map(try (0..<count).map { _ in
                guard case .string(let key) = try value(depth: depth + 1) else { throw DecodingError(description: "non-string key") }
                return (key, try value(depth: depth + 1))
            })
        }
    }
}
