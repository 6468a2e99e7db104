import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOWebSocket
import NIOSSL
import SamromCore
import SamromServer
import SamromStore
import SamromTestSupport
import Testing

/// Restart, TURN credentials, health and metrics, and the TLS fallback.
@Suite struct OperationsTests {
    @Test func aRestartKeepsAccountsConsultationsAndSessions() async throws {
        let directory = LiveServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let clock = TestClock()
        let first = try await LiveServer.start(dataDirectory: directory, clock: clock)
        try await first.addUser("kari", role: .veileder)
        let http = HTTPTestClient(first)
        try await http.login("kari")
        let (id, token) = try await http.createConsultation(title: "Før omstart")
        await first.stop()

        // The database is in WAL mode, in the data directory, and private.
        let attributes = try FileManager.default.attributesOfItem(atPath: directory.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o700)
        let store = try SQLiteStore(directory: directory)
        #expect(try await store.journalMode() == "wal")

        let second = try await LiveServer.start(dataDirectory: directory, clock: clock)
        do {
            let again = HTTPTestClient(second)
            again.cookie = http.cookie
            // The session cookie still works, and the consultation and its link are there.
            #expect(try await again.request(.GET, "/api/me").string("username") == "kari")
            let list = try await again.request(.GET, "/api/consultations")
            #expect(list.body.contains(id) && list.body.contains("Før omstart"))
            let socket = try await WSTestClient.connect(second)
            socket.send(["type": .string("hello"), "v": .int(2), "token": .string(token)])
            try await socket.expect("welcome")
            try await socket.expect("lobby")
        } catch {
            await second.stop()
            throw error
        }
        await second.stop()
    }

    @Test func admittedCarriesTURNRESTCredentialsThatCoturnWouldAccept() async throws {
        let secretFile = LiveServer.temporaryDirectory().appendingPathExtension("secret")
        let secret = "a-long-shared-secret-for-coturn-tests"
        try Data((secret + "\n").utf8).write(to: secretFile)
        defer { try? FileManager.default.removeItem(at: secretFile) }
        let clock = TestClock()
        try await withServer(clock: clock, {
            $0.turnURLs = ["turns:turn.example.no:443?transport=tcp", "turn:turn.example.no:3478?transport=udp"]
            $0.turnSecretFile = secretFile.path
        }) { server in
            let s = try await SignallingFlowTests.setUp(server)
            let admitted = try #require(s.veileder.admitted)
            guard case .object(let ice)? = admitted.array("iceServers")?.first else {
                Issue.record("no ICE server in admitted")
                return
            }
            #expect(admitted.array("iceServers")?.count == 1)
            #expect(ice["urls"] == .array([.string("turns:turn.example.no:443?transport=tcp"), .string("turn:turn.example.no:3478?transport=udp")]))
            guard case .string(let username)? = ice["username"], case .string(let credential)? = ice["credential"] else {
                Issue.record("no credentials")
                return
            }
            let parts = username.split(separator: ":")
            #expect(parts.count == 2)
            #expect(String(parts[1]) == s.veileder.participant)
            let expiry = try #require(TimeInterval(String(parts[0])))
            let lifetime = expiry - clock.now.timeIntervalSince1970
            // Valid an hour at most, whatever is configured.
            #expect(lifetime > 0 && lifetime <= 3600)
            // Checked independently of our code: OpenSSL's HMAC-SHA1, as coturn computes it.
            let expected = try await Self.opensslHMACSHA1(secret: secret, message: username)
            #expect(credential == expected)
            #expect(admitted.string("iceTransportPolicy") == "all")

            // Still in the call 45 minutes later: fresh credentials before the old ones expire.
            clock.advance(by: 2_699)
            await server.app.hub.sweep()
            try await s.veileder.socket.expectSilence()
            clock.advance(by: 1)
            await server.app.hub.sweep()
            let renewed = try await s.veileder.socket.expect("admitted")
            guard case .object(let fresh)? = renewed.array("iceServers")?.first, case .string(let freshUsername)? = fresh["username"] else {
                Issue.record("no renewed credentials")
                return
            }
            let freshExpiry = try #require(TimeInterval(String(freshUsername.split(separator: ":")[0])))
            #expect(freshExpiry == expiry + 2_700)
        }
    }

    /// Issue 13, 9: TURN credentials only after admission: not in `welcome`,
    /// not in the lobby, not to someone turned away, not on renewal while
    /// waiting.
    @Test func turnCredentialsGoOnlyToThoseAdmitted() async throws {
        let secretFile = LiveServer.temporaryDirectory().appendingPathExtension("secret")
        try Data("a-long-shared-secret-for-coturn-tests".utf8).write(to: secretFile)
        defer { try? FileManager.default.removeItem(at: secretFile) }
        let clock = TestClock()
        try await withServer(clock: clock, {
            $0.turnURLs = ["turns:turn.example.no:443?transport=tcp"]
            $0.turnSecretFile = secretFile.path
        }) { server in
            let s = try await SignallingFlowTests.setUp(server)
            let waiting = try await SignallingFlowTests.knock(s, token: s.token)
            #expect(waiting.welcome["iceServers"] == nil)
            _ = try await s.veileder.socket.expect("knock", ignoring: ["roster", "key"])
            // 45 minutes in the lobby: renewals go to the call only.
            clock.advance(by: 2_700)
            await server.app.hub.sweep()
            _ = try await s.veileder.socket.expect("admitted")
            try await waiting.socket.expectSilence()
            // Turned away: still none.
            s.veileder.socket.send(["type": .string("deny"), "participant": .string(waiting.participant)])
            try await waiting.socket.expect("denied")
            #expect(try await waiting.socket.closeCode() != nil)
        }
    }

    @Test func relayOnlyPolicyIsSentInAdmitted() async throws {
        let secretFile = LiveServer.temporaryDirectory().appendingPathExtension("secret")
        try Data("a-long-shared-secret-for-coturn-tests".utf8).write(to: secretFile)
        defer { try? FileManager.default.removeItem(at: secretFile) }
        try await withServer({
            $0.turnURLs = ["turn:turn.example.no:3478?transport=udp"]
            $0.turnSecretFile = secretFile.path
            $0.iceTransportPolicy = .relay
        }) { server in
            let s = try await SignallingFlowTests.setUp(server)
            #expect(s.veileder.admitted?.string("iceTransportPolicy") == "relay")
        }
    }

    @Test func turnConfigurationMistakesStopTheServerWithAClearMessage() async throws {
        for configure: (inout ServerConfiguration) -> Void in [
            { $0.turnURLs = ["stun:stun.l.google.com:19302"]; $0.turnSecretFile = "/dev/null" },
            { $0.turnURLs = ["turns:turn.example.no:443"] },
            { $0.turnURLs = ["turns:turn.example.no:443"]; $0.turnSecretFile = "/nonexistent/secret" },
            { $0.turnURLs = ["turns:turn.example.no:443"]; $0.turnSecretFile = "/dev/null" },
            // Relay only, but no relay: no call could ever connect.
            { $0.iceTransportPolicy = .relay },
        ] {
            await #expect(throws: (any Error).self) {
                let server = try await LiveServer.start(configure)
                await server.stop()
                server.removeData()
            }
        }
    }

    /// Every page names its icon, and the server has it (no 404 in the console).
    @Test func thePagesHaveAnIcon() async throws {
        try await withServer { server in
            let icon = try await HTTPTestClient(server).request(.GET, "/favicon.svg")
            #expect(icon.status == 200)
            #expect(icon.headers.first(name: "Content-Type")?.hasPrefix("image/svg+xml") == true)
            for page in ["/", "/j/", "/audit/"] {
                #expect(try await HTTPTestClient(server).request(.GET, page).body.contains(#"<link rel="icon" href="/favicon.svg""#), "\(page)")
            }
        }
    }

    @Test func healthAndMetricsCarryNoPersonalData() async throws {
        try await withServer { server in
            let s = try await SignallingFlowTests.setUp(server)
            let health = try await s.http.request(.GET, "/healthz")
            #expect(health.status == 200)
            #expect(health.string("status") == "ok")
            let metrics = try await HTTPTestClient(server).request(.GET, "/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.headers.first(name: "Content-Type")?.hasPrefix("text/plain") == true)
            #expect(metrics.body.contains("samrom_"))
            #expect(metrics.body.contains("# TYPE"))
            for secret in [s.consultation, s.token, "kari"] {
                #expect(!metrics.body.contains(secret))
            }
        }
    }

    @Test func withoutACertificateTheServerMakesASelfSignedOne() async throws {
        try await withServer({
            $0.tlsCertificatePath = nil
            $0.tlsKeyPath = nil
        }) { server in
            let directory = server.dataDirectory.appendingPathComponent("tls")
            let key = directory.appendingPathComponent("self-signed.key").path
            let certificate = directory.appendingPathComponent("self-signed.crt").path
            let permissions = try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int
            #expect(permissions == 0o600)
            // A client that trusts exactly that certificate connects with full verification.
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(certificate)
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
            let response: HTTPClientResponse
            do {
                response = try await client.execute(HTTPClientRequest(url: "https://localhost:\(server.port)/healthz"), timeout: .seconds(10))
            } catch {
                try await client.shutdown()
                throw error
            }
            try await client.shutdown()
            #expect(response.status == .ok)
            // The test CA's clients do not trust it: it really is another certificate.
            await #expect(throws: (any Error).self) {
                _ = try await HTTPTestClient.shared.execute(HTTPClientRequest(url: "https://localhost:\(server.port)/healthz"), timeout: .seconds(10))
            }
        }
    }

    static func opensslHMACSHA1(secret: String, message: String) async throws -> String {
        let script = #"printf '%s' "$1" | openssl dgst -sha1 -hmac "$2" -binary | base64"#
        return try await Command.run("/bin/sh", ["-c", script, "sh", message, secret]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
