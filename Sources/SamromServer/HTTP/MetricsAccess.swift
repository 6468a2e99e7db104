import Crypto
import Foundation
import HTTPTypes
import NIOCore
import Sodium

/// Who may read `/metrics`: peers on the loopback interface (a Prometheus
/// on the same host), and others only with the bearer token from
/// `--metrics-token-file`. A loopback request that came through a reverse
/// proxy (it carries `Forwarded` or `X-Forwarded-For`) is not local.
struct MetricsAccess: Sendable {
    enum Decision: Equatable {
        case allowed
        /// A token is configured; this request had none or a wrong one (401).
        case tokenRequired
        /// No token is configured and the peer is not local (403).
        case loopbackOnly
    }

    /// SHA-256 of the token, so comparing it takes the same time whatever
    /// the length or content of what was sent.
    private let tokenHash: [UInt8]?

    static let minimumTokenLength = 32

    init(token: String?) {
        tokenHash = token.map { Array(SHA256.hash(data: Data($0.utf8))) }
    }

    /// Reads the token file; a missing, unreadable or short token stops the start.
    init(tokenFile: String?) throws {
        guard let tokenFile else {
            self.init(token: nil)
            return
        }
        guard let data = FileManager.default.contents(atPath: tokenFile) else {
            throw TLSSetup.Failure(description: "cannot read the metrics token file \(tokenFile)")
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard token.utf8.count >= Self.minimumTokenLength, !token.contains(where: { $0.isWhitespace }) else {
            throw TLSSetup.Failure(
                description: "the metrics token must be one word of at least \(Self.minimumTokenLength) characters (e.g. openssl rand -hex 32)")
        }
        self.init(token: token)
    }

    func decide(peer: SocketAddress?, headers: HTTPFields) -> Decision {
        let proxied = headers[HTTPField.Name("Forwarded")!] != nil || headers[HTTPField.Name("X-Forwarded-For")!] != nil
        if !proxied, Self.isLoopback(peer) { return .allowed }
        guard let tokenHash else { return .loopbackOnly }
        guard let authorization = headers[.authorization] else { return .tokenRequired }
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return .tokenRequired }
        let sent = Array(SHA256.hash(data: Data(parts[1].trimmingCharacters(in: .whitespaces).utf8)))
        return ConstantTime.equals(sent, tokenHash) ? .allowed : .tokenRequired
    }

    /// 127.0.0.0/8, ::1, and IPv4-mapped 127.x addresses.
    static func isLoopback(_ address: SocketAddress?) -> Bool {
        switch address {
        case .v4(let v4):
            return UInt32(bigEndian: v4.address.sin_addr.s_addr) >> 24 == 127
        case .v6(let v6):
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            guard bytes.count == 16 else { return false }
            if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }
            return bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff && bytes[12] == 127
        default:
            return false
        }
    }
}
