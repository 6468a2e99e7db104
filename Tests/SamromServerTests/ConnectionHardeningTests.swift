import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOSSL
@testable import SamromServer
import SamromTestSupport
import Testing

/// Issue 13, points 11 and 12: TLS with AEAD suites only, a deadline for
/// the handshake and each request head, a limit of connections per
/// address, and `/metrics` for loopback or a bearer token.
@Suite struct ConnectionHardeningTests {
    // MARK: TLS (11)

    /// What the real `openssl s_client` gets from the server.
    struct Handshake {
        let succeeded: Bool
        let output: String
        /// "TLSv1.2" and the suite, e.g. "ECDHE-ECDSA-AES128-GCM-SHA256".
        var cipher: String? {
            output.split(separator: "\n").first { $0.contains("Cipher is") }.map { String($0) }
        }
    }

    static func sClient(port: Int, _ arguments: [String]) async throws -> Handshake {
        // Both streams in one: the handshake's summary is on standard output, its errors on standard error.
        let run = try await Command.run(
            "/usr/bin/env", ["timeout", "20", "openssl", "s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost"] + arguments)
        let text = run.output + run.error
        let succeeded = run.status == 0 && !text.contains("Cipher is (NONE)") && text.contains("Cipher is")
        return Handshake(succeeded: succeeded, output: text)
    }

    /// Offers exactly one TLS 1.2 suite (at security level 0, so the client
    /// itself would accept anything the server chose).
    static func tls12(_ port: Int, _ suite: String) async throws -> Handshake {
        try await sClient(port: port, ["-tls1_2", "-cipher", "\(suite)@SECLEVEL=0"])
    }

    /// An RSA certificate given by flag: no static RSA, no CBC, ECDHE-RSA with GCM.
    @Test func tlsWithAnRSACertificateOffersOnlyForwardSecretAEADSuites() async throws {
        let directory = LiveServer.temporaryDirectory().appendingPathExtension("rsa")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = directory.appendingPathComponent("rsa.key").path
        let certificate = directory.appendingPathComponent("rsa.crt").path
        let made = try await Command.run("/usr/bin/env", [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", "2",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        try #require(made.status == 0, "\(made.error)")

        try await withServer({
            $0.tlsCertificatePath = certificate
            $0.tlsKeyPath = key
        }) { server in
            for refused in ["AES128-SHA", "AES256-SHA", "AES128-GCM-SHA256", "AES256-GCM-SHA384", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA384"] {
                let handshake = try await Self.tls12(server.port, refused)
                #expect(!handshake.succeeded, "\(refused) was accepted: \(handshake.cipher ?? "")")
            }
            for accepted in ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305"] {
                let handshake = try await Self.tls12(server.port, accepted)
                #expect(handshake.succeeded, "\(accepted) was refused: \(handshake.output)")
                #expect(handshake.cipher?.contains(accepted) == true)
            }
            let tls13 = try await Self.sClient(port: server.port, ["-tls1_3"])
            #expect(tls13.succeeded && tls13.cipher?.contains("TLSv1.3") == true, "\(tls13.output)")
            let tls11 = try await Self.sClient(port: server.port, ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
            #expect(!tls11.succeeded)
        }
    }

    /// The development certificate (P-256, from Certs/make-dev-certs.sh).
    @Test func tlsWithTheDevelopmentCertificateRefusesCBC() async throws {
        try await withServer { server in
            for refused in ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-ECDSA-AES128-SHA256", "AES128-SHA"] {
                let handshake = try await Self.tls12(server.port, refused)
                #expect(!handshake.succeeded, "\(refused) was accepted: \(handshake.cipher ?? "")")
            }
            for accepted in ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"] {
                let handshake = try await Self.tls12(server.port, accepted)
                #expect(handshake.succeeded, "\(accepted) was refused: \(handshake.output)")
            }
            let tls13 = try await Self.sClient(port: server.port, ["-tls1_3"])
            #expect(tls13.succeeded, "\(tls13.output)")
            let tls11 = try await Self.sClient(port: server.port, ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
            #expect(!tls11.succeeded)
        }
    }

    /// The self-signed certificate made in the data directory (P-256 too).
    @Test func tlsWithTheSelfSignedCertificateRefusesCBC() async throws {
        try await withServer({
            $0.tlsCertificatePath = nil
            $0.tlsKeyPath = nil
        }) { server in
            let made = try String(contentsOf: server.dataDirectory.appendingPathComponent("tls/self-signed.crt"), encoding: .utf8)
            #expect(made.contains("BEGIN CERTIFICATE"))
            #expect(try await !Self.tls12(server.port, "ECDHE-ECDSA-AES128-SHA").succeeded)
            #expect(try await Self.tls12(server.port, "ECDHE-ECDSA-AES128-GCM-SHA256").succeeded)
            #expect(try await Self.tls12(server.port, "ECDHE-ECDSA-CHACHA20-POLY1305").succeeded)
            #expect(try await Self.sClient(port: server.port, ["-tls1_3"]).succeeded)
        }
    }

    // MARK: Slow clients (12a)

    static let request = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"

    /// A slowloris: one header byte every half second. Closed about 3 s
    /// after it connected, though it keeps sending. (The margins are wide:
    /// the whole suite runs in parallel on two cores.)
    @Test func aClientTricklingItsFirstRequestHeadIsClosedWithinTheLimit() async throws {
        try await withServer({ $0.requestHeadTimeout = .seconds(3) }) { server in
            let started = ContinuousClock.now
            let connection = try await RawConnection.connect(port: server.port, tls: server.tlsConfiguration)
            defer { connection.close() }
            try? await connection.handshake()
            try? await connection.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
            while connection.isOpen, ContinuousClock.now - started < .seconds(20) {
                try? await connection.send("a")
                try await Task.sleep(for: .milliseconds(500))
            }
            #expect(!connection.isOpen)
            #expect(ContinuousClock.now - started < .seconds(12))
        }
    }

    /// The handshake counts too: a connection that never starts TLS is closed.
    @Test func aConnectionThatNeverStartsTLSIsClosedWithinTheLimit() async throws {
        try await withServer({ $0.requestHeadTimeout = .seconds(2) }) { server in
            let connection = try await RawConnection.connect(port: server.port, tls: nil)
            defer { connection.close() }
            #expect(await connection.waitClosed(within: .seconds(12)))
        }
    }

    /// On a keep-alive connection, idling between requests is allowed (the
    /// idle timeout covers it), but once a request begins its head must be
    /// complete within the limit.
    @Test func aKeepAliveConnectionMayIdleButNotTrickleItsNextRequestHead() async throws {
        try await withServer({ $0.requestHeadTimeout = .seconds(5) }) { server in
            let connection = try await Self.afterOneRequest(server)
            defer { connection.close() }
            // Longer than the limit, with nothing sent: still open, and answers.
            try await Task.sleep(for: .seconds(6))
            #expect(connection.isOpen)
            try await connection.send(Self.request)
            #expect(await connection.waitFor(#""status":"ok""#, occurrences: 2, timeout: .seconds(5)))

            try await Task.sleep(for: .seconds(1))
            let started = ContinuousClock.now
            try await connection.send("GET /healthz HTTP/1.1\r\n")
            while connection.isOpen, ContinuousClock.now - started < .seconds(20) {
                try await Task.sleep(for: .milliseconds(500))
                try? await connection.send("X")
            }
            #expect(!connection.isOpen)
            #expect(ContinuousClock.now - started < .seconds(15))
        }
    }

    /// A connection that has had one answer. Tried afresh (up to three times)
    /// when the server closed it first: on a machine this busy the handshake
    /// itself can miss the limit, which is right, and tested above.
    static func afterOneRequest(_ server: LiveServer) async throws -> RawConnection {
        for _ in 0..<3 {
            let connection = try await RawConnection.connect(port: server.port, tls: server.tlsConfiguration)
            if (try? await connection.send(Self.request)) != nil, await connection.waitFor(#""status":"ok""#) {
                return connection
            }
            connection.close()
        }
        throw TestFailure("three connections in a row closed before their first answer")
    }

    /// A WebSocket is not an HTTP request: once upgraded, the limit is off.
    @Test func anUpgradedWebSocketOutlivesTheRequestHeadLimit() async throws {
        try await withServer({ $0.requestHeadTimeout = .seconds(5) }) { server in
            let socket = try await WSTestClient.connect(server)
            try await Task.sleep(for: .seconds(7))
            #expect(!socket.isFinished)
            socket.close()
        }
    }

    // MARK: Connections per address (12b)

    @Test func connectionsBeyondTheLimitFromOneAddressAreClosedAtOnce() async throws {
        try await withServer({
            $0.maxConnectionsPerAddress = 3
            $0.requestHeadTimeout = .seconds(60)
        }) { server in
            var held: [RawConnection] = []
            defer { for connection in held { connection.close() } }
            for _ in 0..<3 {
                let connection = try await RawConnection.connect(port: server.port, tls: server.tlsConfiguration)
                held.append(connection)
                try await connection.handshake()
            }
            let fourth = try await RawConnection.connect(port: server.port, tls: server.tlsConfiguration)
            defer { fourth.close() }
            #expect(await fourth.waitClosed(within: .seconds(3)))
            #expect(held.allSatisfy { $0.isOpen })

            // One closes: a new one is let in and answered.
            held.removeFirst().close()
            var admitted = false
            for _ in 0..<50 where !admitted {
                // Until the server has seen the close, a new one is still turned away.
                let next = try await RawConnection.connect(port: server.port, tls: server.tlsConfiguration)
                try? await next.send(Self.request)
                if await next.waitFor(#""status":"ok""#, timeout: .seconds(2)) {
                    admitted = true
                }
                next.close()
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(admitted)
        }
    }

    @Test func theRequestHeadDeadlineFollowsEachRequest() {
        var deadline = RequestHeadDeadline()
        #expect(deadline.connectionOpened() == .startTimer)
        #expect(deadline.bytesArrived() == .none)  // handshake bytes: the deadline already runs
        #expect(deadline.headReceived() == .cancelTimer)
        #expect(deadline.timerFired() == .none)
        #expect(deadline.headReceived() == .none)  // a pipelined second request
        #expect(deadline.responseEnded() == .none)
        #expect(deadline.state == .handling(requests: 1))
        #expect(deadline.responseEnded() == .none)
        #expect(deadline.state == .idle)
        #expect(deadline.timerFired() == .none)  // idling is the idle timeout's business
        #expect(deadline.bytesArrived() == .startTimer)
        #expect(deadline.bytesArrived() == .none)
        #expect(deadline.timerFired() == .close)

        var upgrading = RequestHeadDeadline()
        _ = upgrading.connectionOpened()
        _ = upgrading.headReceived()
        #expect(upgrading.stop() == .none)
        #expect(upgrading.bytesArrived() == .none)
        #expect(upgrading.timerFired() == .none)
    }

    @Test func connectionsPerAddressCountsEachAddressApart() {
        let connections = ConnectionsPerAddress(limit: 2)
        #expect(connections.open("10.0.0.1") && connections.open("10.0.0.1"))
        #expect(!connections.open("10.0.0.1"))
        #expect(connections.open("10.0.0.2"))
        connections.close("10.0.0.1")
        #expect(connections.count("10.0.0.1") == 1)
        #expect(connections.open("10.0.0.1"))
        connections.close("10.0.0.2")
        #expect(connections.count("10.0.0.2") == 0)
    }

    // MARK: /metrics (12c)

    @Test func loopbackIsDecidedFromThePeerAddress() throws {
        for address in ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"] {
            #expect(MetricsAccess.isLoopback(try SocketAddress(ipAddress: address, port: 1)), "\(address)")
        }
        for address in ["10.0.0.1", "192.168.1.20", "128.0.0.1", "::ffff:10.0.0.1", "2001:db8::1", "::2", "fe80::1"] {
            #expect(!MetricsAccess.isLoopback(try SocketAddress(ipAddress: address, port: 1)), "\(address)")
        }
        #expect(!MetricsAccess.isLoopback(nil))
    }

    @Test func metricsNeedLoopbackOrTheBearerToken() throws {
        let token = String(repeating: "k", count: 40)
        let remote = try SocketAddress(ipAddress: "10.1.2.3", port: 50_000)
        let local = try SocketAddress(ipAddress: "127.0.0.1", port: 50_000)
        let open = MetricsAccess(token: nil)
        #expect(open.decide(peer: local, headers: [:]) == .allowed)
        #expect(open.decide(peer: remote, headers: [:]) == .loopbackOnly)
        #expect(open.decide(peer: remote, headers: [.authorization: "Bearer \(token)"]) == .loopbackOnly)
        // Through a reverse proxy on this host, a loopback peer is not local.
        #expect(open.decide(peer: local, headers: [HTTPField.Name("X-Forwarded-For")!: "10.1.2.3"]) == .loopbackOnly)

        let guarded = MetricsAccess(token: token)
        #expect(guarded.decide(peer: local, headers: [:]) == .allowed)
        #expect(guarded.decide(peer: remote, headers: [:]) == .tokenRequired)
        #expect(guarded.decide(peer: remote, headers: [.authorization: "Bearer \(token)x"]) == .tokenRequired)
        #expect(guarded.decide(peer: remote, headers: [.authorization: "Basic \(token)"]) == .tokenRequired)
        #expect(guarded.decide(peer: remote, headers: [.authorization: "Bearer \(token)"]) == .allowed)
        #expect(guarded.decide(peer: remote, headers: [.authorization: "bearer \(token)"]) == .allowed)
    }

    @Test func metricsFromElsewhereAreRefusedWithTheAPIErrorShape() async throws {
        let proxied = [("X-Forwarded-For", "198.51.100.7")]
        try await withServer { server in
            let http = HTTPTestClient(server)
            #expect(try await http.request(.GET, "/metrics").status == 200)
            let refused = try await http.request(.GET, "/metrics", headers: proxied)
            #expect(refused.status == 403)
            #expect(refused.errorCode == "metrics-loopback-only")
            #expect(!refused.body.contains("samrom_"))
        }

        let tokenFile = LiveServer.temporaryDirectory().appendingPathExtension("token")
        let token = "0123456789abcdef0123456789abcdef-metrics"
        try Data((token + "\n").utf8).write(to: tokenFile)
        defer { try? FileManager.default.removeItem(at: tokenFile) }
        try await withServer({ $0.metricsTokenFile = tokenFile.path }) { server in
            let http = HTTPTestClient(server)
            let none = try await http.request(.GET, "/metrics", headers: proxied)
            #expect(none.status == 401)
            #expect(none.errorCode == "metrics-token-required")
            #expect(none.headers.first(name: "WWW-Authenticate")?.hasPrefix("Bearer") == true)
            let wrong = try await http.request(.GET, "/metrics", headers: proxied + [("Authorization", "Bearer not-the-token")])
            #expect(wrong.status == 401)
            let right = try await http.request(.GET, "/metrics", headers: proxied + [("Authorization", "Bearer \(token)")])
            #expect(right.status == 200)
            #expect(right.body.contains("samrom_"))
        }
    }

    @Test func aShortMetricsTokenStopsTheStart() async throws {
        let tokenFile = LiveServer.temporaryDirectory().appendingPathExtension("token")
        try Data("short\n".utf8).write(to: tokenFile)
        defer { try? FileManager.default.removeItem(at: tokenFile) }
        await #expect(throws: TLSSetup.Failure.self) {
            try await withServer({ $0.metricsTokenFile = tokenFile.path }) { _ in }
        }
    }
}
