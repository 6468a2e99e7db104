import Crypto
import Foundation

/// A STUN message (RFC 5389/8489) as TURN (RFC 5766/8656) uses it: the
/// 20-byte header (type, length, magic cookie 0x2112A442, 96-bit transaction
/// id) and the attributes `samrom doctor` needs to make and free one
/// allocation. Decoding takes bytes from the network and never traps: hostile
/// or truncated input throws a `STUNMessage.DecodingError`.
///
/// Not here: FINGERPRINT is neither sent nor checked (a CRC-32 that swift-crypto
/// does not have and we will not write by hand; coturn does not require it),
/// and SASLprep of passwords (TURN REST credentials are base64, plain ASCII).
public struct STUNMessage: Sendable, Equatable {
    public static let magicCookie: UInt32 = 0x2112_A442
    public static let headerLength = 20

    public struct Method: RawRepresentable, Sendable, Hashable {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue & 0x0FFF }

        public static let binding = Method(rawValue: 0x001)
        public static let allocate = Method(rawValue: 0x003)
        public static let refresh = Method(rawValue: 0x004)
    }

    public enum Class: UInt16, Sendable {
        case request = 0, indication = 1, successResponse = 2, errorResponse = 3
    }

    /// An IP address and port, from an XOR-…-ADDRESS attribute.
    public struct TransportAddress: Sendable, Equatable, CustomStringConvertible {
        /// 4 bytes (IPv4) or 16 (IPv6).
        public let address: [UInt8]
        public let port: UInt16

        public init?(address: [UInt8], port: UInt16) {
            guard address.count == 4 || address.count == 16 else { return nil }
            self.address = address
            self.port = port
        }

        /// `127.0.0.1` or `2001:db8::1` (RFC 5952: lower case, longest run of zero groups shortened).
        public var host: String {
            if address.count == 4 { return address.map(String.init).joined(separator: ".") }
            let groups = stride(from: 0, to: 16, by: 2).map { UInt16(address[$0]) << 8 | UInt16(address[$0 + 1]) }
            var best: Range<Int>? = nil
            var start: Int? = nil
            for index in 0...8 {
                if index < 8, groups[index] == 0 {
                    if start == nil { start = index }
                } else if let first = start {
                    if index - first > 1, index - first > (best?.count ?? 0) { best = first..<index }
                    start = nil
                }
            }
            let hex = groups.map { String($0, radix: 16) }
            guard let best else { return hex.joined(separator: ":") }
            return hex[..<best.lowerBound].joined(separator: ":") + "::" + hex[best.upperBound...].joined(separator: ":")
        }

        /// `127.0.0.1:49160` or `[2001:db8::1]:49160`.
        public var description: String {
            address.count == 4 ? "\(host):\(port)" : "[\(host)]:\(port)"
        }
    }

    public enum Attribute: Sendable, Equatable {
        /// The protocol of the relay (RFC 8656 18.11): 17 is UDP.
        case requestedTransport(UInt8)
        /// Seconds; 0 in a Refresh frees the allocation.
        case lifetime(UInt32)
        case username(String)
        case realm(String)
        case nonce(String)
        /// HMAC-SHA1, 20 bytes. `encoded(integrityKey:)` appends it; decoding keeps it.
        case messageIntegrity([UInt8])
        case errorCode(code: Int, reason: String)
        case xorRelayedAddress(TransportAddress)
        case xorMappedAddress(TransportAddress)
        case software(String)
        /// Anything else, FINGERPRINT included: kept as it came.
        case other(type: UInt16, value: [UInt8])

        enum Kind: UInt16 {
            case mappedAddress = 0x0001, username = 0x0006, messageIntegrity = 0x0008, errorCode = 0x0009
            case lifetime = 0x000D, realm = 0x0014, nonce = 0x0015, xorRelayedAddress = 0x0016
            case requestedTransport = 0x0019, xorMappedAddress = 0x0020, software = 0x8022, fingerprint = 0x8028
        }
    }

    /// Why bytes are not a STUN message we can read; `code` is stable for tests.
    public struct DecodingError: Error, Equatable, CustomStringConvertible {
        public enum Code: String, Sendable {
            case truncated, notSTUN = "not-stun", badLength = "bad-length", badAttribute = "bad-attribute"
        }

        public let code: Code
        public let reason: String

        init(_ code: Code, _ reason: String) {
            self.code = code
            self.reason = reason
        }

        public var description: String { reason }
    }

    public var method: Method
    public var messageClass: Class
    /// 12 bytes.
    public var transactionID: [UInt8]
    public var attributes: [Attribute]

    public init(method: Method, class messageClass: Class, transactionID: [UInt8], attributes: [Attribute] = []) {
        precondition(transactionID.count == 12, "a STUN transaction id is 96 bits")
        self.method = method
        self.messageClass = messageClass
        self.transactionID = transactionID
        self.attributes = attributes
    }

    /// A request with a fresh random transaction id.
    public static func request(_ method: Method, _ attributes: [Attribute]) -> STUNMessage {
        var generator = SystemRandomNumberGenerator()
        let id = (0..<12).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return STUNMessage(method: method, class: .request, transactionID: id, attributes: attributes)
    }

    // MARK: - Reading attributes

    public var errorCode: (code: Int, reason: String)? {
        for case let .errorCode(code, reason) in attributes { return (code, reason) }
        return nil
    }

    public var realm: String? {
        for case let .realm(value) in attributes { return value }
        return nil
    }

    public var nonce: String? {
        for case let .nonce(value) in attributes { return value }
        return nil
    }

    public var xorRelayedAddress: TransportAddress? {
        for case let .xorRelayedAddress(value) in attributes { return value }
        return nil
    }

    public var xorMappedAddress: TransportAddress? {
        for case let .xorMappedAddress(value) in attributes { return value }
        return nil
    }

    // MARK: - Long-term credentials (RFC 5389 15.4)

    /// The long-term credential key: MD5(username ":" realm ":" password).
    public static func longTermKey(username: String, realm: String, password: String) -> [UInt8] {
        Array(Insecure.MD5.hash(data: Data("\(username):\(realm):\(password)".utf8)))
    }

    // MARK: - Encoding

    /// The message on the wire; with `integrityKey`, a MESSAGE-INTEGRITY over
    /// everything before it is appended (the length field then counting it,
    /// as RFC 5389 15.4 says).
    public func encoded(integrityKey: [UInt8]? = nil) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(128)
        let type = Self.messageType(method, messageClass)
        Self.append(type, to: &bytes)
        Self.append(UInt16(0), to: &bytes)
        Self.append(Self.magicCookie, to: &bytes)
        bytes += transactionID
        for attribute in attributes {
            let (kind, value) = Self.encode(attribute, transactionID: transactionID)
            Self.append(kind, to: &bytes)
            Self.append(UInt16(value.count), to: &bytes)
            bytes += value
            bytes += [UInt8](repeating: 0, count: (4 - value.count % 4) % 4)
        }
        if let integrityKey {
            Self.setLength(bytes.count - Self.headerLength + 24, in: &bytes)
            let mac = HMAC<Insecure.SHA1>.authenticationCode(for: bytes, using: SymmetricKey(data: integrityKey))
            Self.append(Attribute.Kind.messageIntegrity.rawValue, to: &bytes)
            Self.append(UInt16(20), to: &bytes)
            bytes += Array(mac)
        }
        Self.setLength(bytes.count - Self.headerLength, in: &bytes)
        return bytes
    }

    static func messageType(_ method: Method, _ messageClass: Class) -> UInt16 {
        // M11..M7 C1 M6..M4 C0 M3..M0 (RFC 5389 6).
        let m = method.rawValue
        let c = messageClass.rawValue
        return (m & 0x000F) | (m & 0x0070) << 1 | (m & 0x0F80) << 2 | (c & 1) << 4 | (c & 2) << 7
    }

    private static func encode(_ attribute: Attribute, transactionID: [UInt8]) -> (UInt16, [UInt8]) {
        switch attribute {
        case .requestedTransport(let proto): (Attribute.Kind.requestedTransport.rawValue, [proto, 0, 0, 0])
        case .lifetime(let seconds): (Attribute.Kind.lifetime.rawValue, bigEndian(seconds))
        case .username(let text): (Attribute.Kind.username.rawValue, Array(text.utf8))
        case .realm(let text): (Attribute.Kind.realm.rawValue, Array(text.utf8))
        case .nonce(let text): (Attribute.Kind.nonce.rawValue, Array(text.utf8))
        case .messageIntegrity(let mac): (Attribute.Kind.messageIntegrity.rawValue, mac)
        case .errorCode(let code, let reason):
            (Attribute.Kind.errorCode.rawValue, [0, 0, UInt8(clamping: code / 100 & 0x07), UInt8(clamping: code % 100)] + Array(reason.utf8))
        case .xorRelayedAddress(let address): (Attribute.Kind.xorRelayedAddress.rawValue, xor(address, transactionID))
        case .xorMappedAddress(let address): (Attribute.Kind.xorMappedAddress.rawValue, xor(address, transactionID))
        case .software(let text): (Attribute.Kind.software.rawValue, Array(text.utf8))
        case .other(let type, let value): (type, value)
        }
    }

    private static func xor(_ address: TransportAddress, _ transactionID: [UInt8]) -> [UInt8] {
        let mask = bigEndian(magicCookie) + transactionID
        let family: UInt8 = address.address.count == 4 ? 0x01 : 0x02
        let port = address.port ^ UInt16(magicCookie >> 16)
        return [0, family] + bigEndian(port) + address.address.enumerated().map { $0.element ^ mask[$0.offset] }
    }

    private static func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian, Array.init)
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        bytes += bigEndian(value)
    }

    private static func setLength(_ length: Int, in bytes: inout [UInt8]) {
        bytes[2] = UInt8(truncatingIfNeeded: length >> 8)
        bytes[3] = UInt8(truncatingIfNeeded: length)
    }

    // MARK: - Decoding

    /// Reads one whole message; throws on anything else (short, long, not
    /// STUN, an attribute running past the end or malformed).
    public init(decoding bytes: [UInt8]) throws(DecodingError) {
        let header = try Self.header(bytes)
        guard bytes.count == Self.headerLength + header.length else {
            throw DecodingError(.badLength, "the message is \(bytes.count) bytes but its header says \(Self.headerLength + header.length)")
        }
        let method = Method(rawValue: (header.type & 0x000F) | (header.type & 0x00E0) >> 1 | (header.type & 0x3E00) >> 2)
        let messageClass = Class(rawValue: (header.type & 0x0010) >> 4 | (header.type & 0x0100) >> 7) ?? .request
        let transactionID = Array(bytes[8..<20])
        var attributes: [Attribute] = []
        for (type, range) in try Self.attributeRanges(bytes) {
            attributes.append(try Self.decodeAttribute(type, Array(bytes[range]), transactionID: transactionID))
        }
        self.init(method: method, class: messageClass, transactionID: transactionID, attributes: attributes)
    }

    /// The length of the whole message whose first 4 bytes (at least) are
    /// `prefix`, for framing a byte stream (TURN over TCP and TLS); nil when
    /// fewer than 4 bytes are there yet. Throws when the bytes are not STUN
    /// (TURN ChannelData, which starts 0b01, is not used by the probe).
    public static func frameLength(_ prefix: some Collection<UInt8>) throws(DecodingError) -> Int? {
        guard prefix.count >= 4 else { return nil }
        let first = Array(prefix.prefix(4))
        guard first[0] & 0xC0 == 0 else { throw DecodingError(.notSTUN, "the first two bits are not 00: not a STUN message") }
        let length = Int(first[2]) << 8 | Int(first[3])
        guard length % 4 == 0 else { throw DecodingError(.badLength, "the message length \(length) is not a multiple of 4") }
        return headerLength + length
    }

    /// Whether the MESSAGE-INTEGRITY of the message `bytes` is right for
    /// `key`: the HMAC-SHA1 over the message up to that attribute, its length
    /// field set to end at it (RFC 5389 15.4), compared in constant time.
    /// False when there is none or the bytes are not a message.
    public static func integrityIsValid(_ bytes: [UInt8], key: [UInt8]) -> Bool {
        guard (try? header(bytes)) != nil, let ranges = try? attributeRanges(bytes),
            let (_, range) = ranges.first(where: { $0.type == Attribute.Kind.messageIntegrity.rawValue }),
            range.count == 20
        else { return false }
        var covered = Array(bytes[..<(range.lowerBound - 4)])
        setLength(range.upperBound - headerLength, in: &covered)
        return HMAC<Insecure.SHA1>.isValidAuthenticationCode(Array(bytes[range]), authenticating: covered, using: SymmetricKey(data: key))
    }

    private static func header(_ bytes: [UInt8]) throws(DecodingError) -> (type: UInt16, length: Int) {
        guard bytes.count >= headerLength else {
            throw DecodingError(.truncated, "\(bytes.count) bytes are shorter than a STUN header (20)")
        }
        guard bytes[0] & 0xC0 == 0 else { throw DecodingError(.notSTUN, "the first two bits are not 00: not a STUN message") }
        guard Array(bytes[4..<8]) == bigEndian(magicCookie) else {
            throw DecodingError(.notSTUN, "no magic cookie 0x2112A442: not a STUN message (RFC 5389)")
        }
        let length = Int(bytes[2]) << 8 | Int(bytes[3])
        guard length % 4 == 0 else { throw DecodingError(.badLength, "the message length \(length) is not a multiple of 4") }
        return (UInt16(bytes[0]) << 8 | UInt16(bytes[1]), length)
    }

    /// Every attribute's type and where its value is (padding excluded).
    private static func attributeRanges(_ bytes: [UInt8]) throws(DecodingError) -> [(type: UInt16, range: Range<Int>)] {
        var ranges: [(type: UInt16, range: Range<Int>)] = []
        var offset = headerLength
        while offset < bytes.count {
            guard bytes.count - offset >= 4 else {
                throw DecodingError(.truncated, "an attribute header at byte \(offset) is cut short")
            }
            let type = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            let start = offset + 4
            guard bytes.count - start >= length else {
                throw DecodingError(.truncated, "attribute 0x\(String(type, radix: 16)) at byte \(offset) runs past the end of the message")
            }
            ranges.append((type, start..<(start + length)))
            offset = start + (length + 3) / 4 * 4
        }
        return ranges
    }

    private static func decodeAttribute(_ type: UInt16, _ value: [UInt8], transactionID: [UInt8]) throws(DecodingError) -> Attribute {
        func text() throws(DecodingError) -> String {
            guard let string = String(validating: value, as: UTF8.self) else {
                throw DecodingError(.badAttribute, "attribute 0x\(String(type, radix: 16)) is not UTF-8 text")
            }
            return string
        }
        func bad(_ what: String) -> DecodingError { DecodingError(.badAttribute, what) }
        switch Attribute.Kind(rawValue: type) {
        case .requestedTransport:
            guard value.count == 4 else { throw bad("REQUESTED-TRANSPORT is \(value.count) bytes, not 4") }
            return .requestedTransport(value[0])
        case .lifetime:
            guard value.count == 4 else { throw bad("LIFETIME is \(value.count) bytes, not 4") }
            return .lifetime(value.reduce(0) { $0 << 8 | UInt32($1) })
        case .username: return .username(try text())
        case .realm: return .realm(try text())
        case .nonce: return .nonce(try text())
        case .software: return .software(try text())
        case .messageIntegrity:
            guard value.count == 20 else { throw bad("MESSAGE-INTEGRITY is \(value.count) bytes, not 20") }
            return .messageIntegrity(value)
        case .errorCode:
            guard value.count >= 4 else { throw bad("ERROR-CODE is \(value.count) bytes, fewer than 4") }
            let code = Int(value[2] & 0x07) * 100 + Int(value[3])
            guard (300...699).contains(code), value[3] < 100 else { throw bad("ERROR-CODE \(code) is not a STUN error code") }
            let reason = String(validating: value[4...], as: UTF8.self) ?? String(decoding: value[4...], as: UTF8.self)
            return .errorCode(code: code, reason: reason)
        case .xorRelayedAddress, .xorMappedAddress:
            guard value.count >= 4 else { throw bad("an XOR address is \(value.count) bytes") }
            let size: Int
            switch value[1] {
            case 0x01: size = 4
            case 0x02: size = 16
            default: throw bad("address family 0x\(String(value[1], radix: 16)) is neither IPv4 nor IPv6")
            }
            guard value.count == 4 + size else { throw bad("an XOR address of family \(value[1]) is \(value.count) bytes") }
            let mask = bigEndian(magicCookie) + transactionID
            let port = (UInt16(value[2]) << 8 | UInt16(value[3])) ^ UInt16(magicCookie >> 16)
            let raw = value[4...].enumerated().map { $0.element ^ mask[$0.offset] }
            guard let address = TransportAddress(address: raw, port: port) else { throw bad("a bad XOR address") }
            return Attribute.Kind(rawValue: type) == .xorRelayedAddress ? .xorRelayedAddress(address) : .xorMappedAddress(address)
        case .mappedAddress, .fingerprint, nil:
            return .other(type: type, value: value)
        }
    }
}
