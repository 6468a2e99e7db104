import Sodium

/// This process among the instances that share one store (issue 14).
///
/// `name` is how the load balancer knows it (HAProxy's server name): the
/// `moved` message sends clients to it. `holder` adds a boot id, so a
/// restarted instance is a new holder: it takes over the homes its previous
/// run left at once, rather than waiting out their leases.
public struct Instance: Sendable, Equatable {
    public let name: String
    public let holder: String

    public init(name: String, boot: String = Base64URL.encode(Random.bytes(6))) throws(InstanceNameError) {
        guard Self.isValidName(name) else { throw InstanceNameError(name: name) }
        self.name = name
        holder = "\(name)/\(boot)"
    }

    /// 1–32 of `a-z 0-9 - _ .`, starting with a letter or digit: safe in a
    /// URL query, an HAProxy server name and a log line.
    public static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...32).contains(bytes.count), let first = bytes.first, isAlphanumeric(first) else { return false }
        return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }

    /// The instance name a holder string belongs to.
    public static func name(ofHolder holder: String) -> String {
        String(holder.prefix { $0 != "/" })
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}

public struct InstanceNameError: Error, CustomStringConvertible {
    public let name: String
    public var description: String {
        "the instance name must be 1–32 of a-z, 0-9, '-', '_' and '.', starting with a letter or digit"
    }
}
