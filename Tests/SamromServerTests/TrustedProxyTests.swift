import Foundation
import NIOHTTP1
import SamromCore
import SamromServer
import SamromTestSupport
import Testing

/// Issue 14: behind HAProxy every connection comes from the proxy. With
/// `--trusted-proxy`, the audit log and the per-address limits see the
/// client it names in `X-Forwarded-For`, and only what a trusted proxy added.
@Suite struct TrustedProxyTests {
    /// The address the audit log recorded for a failed login sent with these headers.
    /// Each time for another account, so that no login throttle answers first.
    static func loggedAddress(_ server: LiveServer, forwardedFor: String?) async throws -> String? {
        let http = HTTPTestClient(server)
        let username = "kari\(UInt32.random(in: 0...UInt32.max))"
        try await server.addUser(username, role: .veileder)
        let before = try await server.auditEntries().count
        let reply = try await http.request(
            .POST, "/api/session", body: #"{"username":"\#(username)","password":"wrong password"}"#,
            headers: forwardedFor.map { [("X-Forwarded-For", $0)] } ?? [])
        #expect(reply.status == 401)
        let entries = try await server.auditEntries().dropFirst(before)
        return try #require(entries.first { $0.event.action == .login }).event.clientIP
    }

    @Test func theAuditLogNamesTheClientATrustedProxyForwards() async throws {
        try await withServer({ $0.trustedProxies = ["127.0.0.1"] }) { (server: LiveServer) async throws in
            #expect(try await Self.loggedAddress(server, forwardedFor: "203.0.113.9") == "203.0.113.9")
            // What the client wrote itself is left of what the proxy added: the rightmost counts.
            #expect(try await Self.loggedAddress(server, forwardedFor: "10.0.0.1, 203.0.113.10") == "203.0.113.10")
            #expect(try await Self.loggedAddress(server, forwardedFor: "2001:db8::7") == "2001:db8::7")
            // Trusted hops are skipped; a malformed header is not believed at all.
            #expect(try await Self.loggedAddress(server, forwardedFor: "203.0.113.11, 127.0.0.1") == "203.0.113.11")
            #expect(try await Self.loggedAddress(server, forwardedFor: "203.0.113.12, not-an-address") == "127.0.0.1")
            #expect(try await Self.loggedAddress(server, forwardedFor: nil) == "127.0.0.1")
        }
    }

    @Test func withoutTrustAForwardedForHeaderIsIgnored() async throws {
        try await withServer { (server: LiveServer) async throws in
            #expect(try await Self.loggedAddress(server, forwardedFor: "203.0.113.9") == "127.0.0.1")
        }
    }

    @Test func aTrustedProxyIsNotLimitedPerAddressButItsClientsAre() async throws {
        try await withServer({
            $0.trustedProxies = ["127.0.0.1"]
            $0.maxConnectionsPerAddress = 2
            $0.requestHeadTimeout = .seconds(60)
        }) { server in
            var held: [RawConnection] = []
            defer { for connection in held { connection.close() } }
            for _ in 0..<5 {
                let connection = try await RawConnection.connect(port: server.port, tls: server.tlsConfiguration)
                held.append(connection)
                try await connection.handshake()
            }
            #expect(held.allSatisfy { $0.isOpen })
            // One client behind the proxy, refused again and again, is throttled as itself.
            try await server.addUser("kari", role: .veileder)
            var limited = false
            for _ in 0..<8 where !limited {
                let reply = try await HTTPTestClient(server).request(
                    .POST, "/api/session", body: #"{"username":"kari","password":"wrong password"}"#,
                    headers: [("X-Forwarded-For", "203.0.113.20")])
                limited = reply.status == 429
            }
            #expect(limited, "the forwarded client's failed logins are counted against it")
            let other = try await HTTPTestClient(server).request(
                .POST, "/api/session", body: #"{"username":"ola","password":"wrong password"}"#,
                headers: [("X-Forwarded-For", "203.0.113.21")])
            #expect(other.status == 401, "another client behind the same proxy is not")
        }
    }

    @Test func aTrustedProxyMustBeAnAddress() async throws {
        await #expect(throws: (any Error).self) {
            try await withServer({ $0.trustedProxies = ["haproxy.local"] }) { _ in }
        }
    }
}
