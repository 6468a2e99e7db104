import Foundation
import NIOCore

/// The reverse proxies (HAProxy in front of several instances) this server
/// takes a client's address from (`--trusted-proxy`). Behind one, every
/// connection comes from the proxy: without this, the audit log would say
/// "from the proxy" for everyone, and per-address limits would count all
/// clients as one.
struct TrustedProxies: Sendable {
    /// Normalised address texts (as `SocketAddress.ipAddress` writes them).
    let addresses: Set<String>

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    init(_ list: [String]) throws {
        var addresses: Set<String> = []
        for text in list {
            guard let address = Self.normalised(text) else {
                throw Failure(description: "--trusted-proxy must be an IP address, not \(text)")
            }
            addresses.insert(address)
        }
        self.addresses = addresses
    }

    func contains(_ address: String?) -> Bool {
        guard let address else { return false }
        return addresses.contains(address)
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy;
    /// then the rightmost address in `X-Forwarded-For` that is not a trusted
    /// proxy (what the outermost trusted proxy saw; anything further left
    /// the client could have written itself). Without a usable header, the peer's.
    func client(peer: String?, forwardedFor values: [String]) -> String? {
        guard contains(peer) else { return peer }
        let hops = values.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        for hop in hops.reversed() {
            guard let address = Self.normalised(hop) else { return peer }  // malformed: trust nothing in it
            if !addresses.contains(address) { return address }
        }
        return peer
    }

    /// An IPv4 or IPv6 address in one canonical text form; nil for anything else.
    static func normalised(_ text: String) -> String? {
        guard !text.isEmpty, text.utf8.count <= 64, let address = try? SocketAddress(ipAddress: text, port: 0) else { return nil }
        return address.ipAddress
    }
}
