import Foundation
import NIOHTTP1
import NIOWebSocket
import SamromCore
import SamromServer
import Sodium
import SamromTestSupport
import Testing

/// Every unhappy path on `/ws`, against a live server over real TLS: each bad
/// frame is answered with a stable code, and only the ones that must end the
/// session do.
@Suite struct SignallingAbuseTests {
    typealias Flow = SignallingFlowTests

    static func hello(token: String) -> [String: JSONValue] {
        ["type": .string("hello"), "v": .int(2), "token": .string(token)]
    }

    @Test func malformedFramesGetAnErrorAndTheConnectionLivesOn() async throws {
        try await withServer { server in
            let s = try await Flow.setUp(server)
            let socket = s.veileder.socket
            for (frame, code) in [
                ("not json", "bad-json"),
                ("[1,2,3]", "bad-json"),
                (#"{"no":"type"}"#, "bad-field"),
                (#"{"type":42}"#, "bad-field"),
                (#"{"type":"launch-missiles"}"#, "unknown-type"),
                (#"{"type":"admit"}"#, "bad-field"),
                (#"{"type":"admit","participant":7}"#, "bad-field"),
                (#"{"type":"offer","sdp":"v=0\r\n"}"#, "unknown-type"),
                (#"{"type":"signal","to":"p-x"}"#, "bad-field"),
                (#"{"type":"signal","to":7,"senderKeyId":"\#(s.veileder.keyID)","recipientKeyId":"\#(s.veileder.keyID)","nonce":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","box":"AAAA"}"#, "bad-field"),
                (#"{"type":"signal","to":"p-x","senderKeyId":"short","recipientKeyId":"\#(s.veileder.keyID)","nonce":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","box":"AAAA"}"#, "bad-field"),
                (#"{"type":"signal","to":"p-x","senderKeyId":"\#(s.veileder.keyID)","recipientKeyId":"\#(s.veileder.keyID)","nonce":"AAAA","box":"AAAA"}"#, "bad-field"),
                (#"{"type":"signal","to":"p-x","senderKeyId":"\#(s.veileder.keyID)","recipientKeyId":"\#(s.veileder.keyID)","nonce":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","box":"AAAA"}"#, "bad-field"),
                (#"{"type":"key","publicKey":"AAAA"}"#, "bad-field"),
                (#"{"type":"chat","clientMsgId":"m","senderKeyId":"\#(s.veileder.keyID)","copies":"x"}"#, "bad-field"),
                (#"{"type":"history","limit":0}"#, "bad-field"),
                (#"{"type":"admit","participant":"p-nobody"}"#, "not-waiting"),
                (#"{"type":"hello","v":2,"consultation":"\#(s.consultation)"}"#, "already-joined"),
            ] {
                socket.send(frame)
                try await socket.expectError(code)
            }
            // A field longer than its limit, in a frame under the frame limit.
            socket.send(#"{"type":"admit","participant":"\#(String(repeating: "a", count: 200))"}"#)
            try await socket.expectError("too-large")
            socket.send(["type": .string("ping")])
            try await socket.expect("pong")
            #expect(!socket.isFinished)
        }
    }

    @Test func theFirstMessageMustBeHello() async throws {
        try await withServer { server in
            let socket = try await WSTestClient.connect(server)
            for type in ["leave", "end", "history"] {
                socket.send(#"{"type":"\#(type)"}"#)
                try await socket.expectError("hello-required")
            }
            // A ping is answered even before hello (it keeps a slow page's socket alive).
            socket.send(["type": .string("ping")])
            try await socket.expect("pong")
            socket.send(#"{"type":"hello","v":3,"token":"x"}"#)
            try await socket.expectError("bad-field")
            socket.send(#"{"type":"hello","v":2}"#)
            try await socket.expectError("bad-field")
            // Protocol v1 is gone.
            socket.send(#"{"type":"hello","v":1,"token":"\#(JoinToken.random().encoded)"}"#)
            try await socket.expectError("bad-field")
            #expect(!socket.isFinished)
        }
    }

    @Test func forgedRevokedExpiredAndEndedLinksAreRefused() async throws {
        let clock = TestClock()
        try await withServer(clock: clock) { server in
            let s = try await Flow.setUp(server)
            // Forged: well-formed but unknown, and malformed.
            for token in [ResumeToken.random().encoded, "not-a-token", String(repeating: "A", count: 43)] {
                let socket = try await WSTestClient.connect(server)
                socket.send(Self.hello(token: token))
                try await socket.expectError("invalid-token")
                #expect(try await socket.closeCode() == .policyViolation)
            }
            // Revoked: a new link makes the old one invalid.
            let renewed = try await s.http.request(.POST, "/api/consultations/\(s.consultation)/link")
            #expect(renewed.status == 200)
            let newToken = try #require(renewed.string("joinUrl")?.split(separator: "#").last.map(String.init))
            #expect(newToken != s.token)
            let old = try await WSTestClient.connect(server)
            old.send(Self.hello(token: s.token))
            try await old.expectError("invalid-token")
            _ = try await Flow.knock(s, token: newToken)

            // Expired: a short-lived consultation after its time.
            let (shortID, shortToken) = try await s.http.createConsultation(days: 1)
            clock.advance(by: 86_400 + 1)
            let expired = try await WSTestClient.connect(server)
            expired.send(Self.hello(token: shortToken))
            try await expired.expectError("expired")
            #expect(try await expired.closeCode() == .policyViolation)
            // The veileder cannot reopen it either (after logging in again:
            // a day has passed, so the session has expired too).
            #expect(try await s.http.login("kari").status == 204)
            let veileder = try await WSTestClient.connect(server, cookie: s.http.cookie)
            veileder.send(["type": .string("hello"), "v": .int(2), "consultation": .string(shortID)])
            try await veileder.expectError("expired")

            let reasons = try await server.auditEntries()
                .filter { $0.event.action == .join && $0.event.outcome == .denied }
                .compactMap(\.event.reason)
            // The same refusal from the same address is summed within a minute.
            #expect(reasons.count >= 3)
        }
    }

    @Test func aDeltakerCannotAdmitDenyOrEnd() async throws {
        try await withServer { server in
            let s = try await Flow.setUp(server)
            let firstPerson = try await Flow.knock(s, token: s.token)
            let secondPerson = try await Flow.knock(s, token: s.token)
            let (first, second) = (firstPerson.socket, secondPerson.socket)
            let (firstID, secondID) = (firstPerson.participant, secondPerson.participant)
            // A waiting deltaker tries to let in itself and the other one.
            for id in [firstID, secondID] {
                first.send(["type": .string("admit"), "participant": .string(id)])
                try await first.expectError("forbidden")
            }
            first.send(["type": .string("deny"), "participant": .string(secondID)])
            try await first.expectError("forbidden")
            first.send(["type": .string("end")])
            try await first.expectError("forbidden")
            try await second.expectSilence()
            // Admitted, it still cannot end the consultation for the veileder.
            s.veileder.socket.send(["type": .string("admit"), "participant": .string(firstID)])
            try await first.expect("admitted")
            try await first.expect("roster", ignoring: ["key"])
            first.send(["type": .string("end")])
            try await first.expectError("forbidden")
            first.send(["type": .string("admit"), "participant": .string(secondID)])
            try await first.expectError("forbidden")
        }
    }

    @Test func signallingBeforeAdmissionIsRefusedAndNeverRelayed() async throws {
        try await withServer { server in
            let s = try await Flow.setUp(server)
            let deltaker = try await Flow.knock(s, token: s.token)
            try await s.veileder.socket.expect("knock", ignoring: ["roster"])
            deltaker.announceKey()
            try await deltaker.socket.expectError("not-admitted")
            deltaker.socket.send(try deltaker.signalFrame(.offer(sdp: "v=0"), to: s.veileder.participant, peer: s.veileder.keys.publicKey))
            try await deltaker.socket.expectError("not-admitted")
            deltaker.socket.send(["type": .string("history")])
            try await deltaker.socket.expectError("not-admitted")
            // And the veileder cannot push a signal into the lobby.
            try s.veileder.sendSignal(.offer(sdp: "v=0"), to: deltaker)
            try await s.veileder.socket.expectError("not-in-call")
            try await deltaker.socket.expectSilence()
            try await s.veileder.socket.expectSilence()
        }
    }

    @Test func consultationsAreIsolatedFromEachOther() async throws {
        try await withServer { server in
            let a = try await Flow.setUp(server, username: "anne")
            let b = try await Flow.setUp(server, username: "bjorn")
            let deltakere = [
                try await Flow.join(a, token: a.token, call: [a.veileder]),
                try await Flow.join(b, token: b.token, call: [b.veileder]),
            ]
            try a.veileder.sendSignal(.offer(sdp: "v=0 a"), to: deltakere[0])
            #expect(try deltakere[0].open(try await deltakere[0].socket.expect("signal"), from: a.veileder.keys.publicKey) == .offer(sdp: "v=0 a"))
            // Addressed to the other consultation's deltaker: not in this call.
            try a.veileder.sendSignal(.offer(sdp: "v=0 b"), to: deltakere[1])
            try await a.veileder.socket.expectError("not-in-call")
            try await deltakere[1].socket.expectSilence()
            try await b.veileder.socket.expectSilence()

            // Anne cannot open Bjørn's consultation, nor admit into it.
            let intruder = try await WSTestClient.connect(server, cookie: a.http.cookie)
            intruder.send(["type": .string("hello"), "v": .int(2), "consultation": .string(b.consultation)])
            try await intruder.expectError("forbidden")
            // Over HTTP it does not even exist for her.
            #expect(try await a.http.request(.POST, "/api/consultations/\(b.consultation)/end").status == 404)
            #expect(try await a.http.request(.POST, "/api/consultations/\(b.consultation)/links", body: #"{"role":"tolk"}"#).status == 404)
            try await b.veileder.socket.expectSilence()
        }
    }

    /// Issue 13, 4: 200 hellos without a cookie on 20 sockets wrote 100
    /// audit entries, and the sockets stayed open. Now a refused hello
    /// closes its socket, refusals from one address are summed per minute,
    /// and an address that keeps failing waits.
    @Test func refusedHellosCloseTheSocketAndAreSummedInTheLog() async throws {
        try await withServer { server in
            let s = try await Flow.setUp(server)
            let before = try await server.auditEntries().count
            var closes: [WebSocketErrorCode?] = []
            var codes: [String] = []
            for _ in 0..<20 {
                let socket = try await WSTestClient.connect(server)
                for _ in 0..<10 {
                    socket.send(["type": .string("hello"), "v": .int(2), "consultation": .string(s.consultation)])
                }
                codes.append(try await socket.expect("error").string("code") ?? "")
                closes.append(try await socket.closeCode())
            }
            #expect(closes.allSatisfy { $0 == .policyViolation })
            #expect(Set(codes) == ["forbidden"])
            // The 21st from this address is slowed down without asking the store.
            let late = try await WSTestClient.connect(server)
            late.send(["type": .string("hello"), "v": .int(2), "consultation": .string(s.consultation)])
            try await late.expectError("rate-limited")
            #expect(try await late.closeCode() == .policyViolation)

            try await server.app.auditor.flushRefusals(all: true)
            let written = try await server.auditEntries().dropFirst(before)
            #expect(written.count == 2, "\(written.map(\.event.reason))")
            #expect(written.last?.event.reason.hasPrefix("19 more refused attempts") == true)
        }
    }

    @Test func aVeilederHelloWithoutASessionIsForbidden() async throws {
        try await withServer { server in
            let s = try await Flow.setUp(server)
            let socket = try await WSTestClient.connect(server)
            socket.send(["type": .string("hello"), "v": .int(2), "consultation": .string(s.consultation)])
            try await socket.expectError("forbidden")
            // A stale cookie is no better.
            let stale = try await WSTestClient.connect(server, cookie: "samrom_session=" + ResumeToken.random().encoded)
            stale.send(["type": .string("hello"), "v": .int(2), "consultation": .string(s.consultation)])
            try await stale.expectError("forbidden")
        }
    }

    @Test func anOversizedFrameClosesWith1009() async throws {
        try await withServer({ $0.maxMessageBytes = 16 * 1024 }) { server in
            let socket = try await WSTestClient.connect(server)
            socket.send(#"{"type":"ping","pad":""# + String(repeating: "x", count: 20 * 1024) + #""}"#)
            #expect(try await socket.closeCode() == .messageTooLarge)
        }
    }

    @Test func aFloodIsRateLimitedAndAPersistentOneIsClosed() async throws {
        try await withServer({
            $0.messagesPerSecond = 1
            $0.messageBurst = 5
            $0.maxRejectedMessages = 20
        }) { server in
            let s = try await Flow.setUp(server)
            // The test clock stands still, so the bucket never refills: hello
            // and key took two of five tokens, three pings pass, the rest are dropped.
            for _ in 0..<40 { s.veileder.socket.send(["type": .string("ping")]) }
            var pongs = 0
            var limited: [String] = []
            while limited.count < 2 {
                let message = try await s.veileder.socket.next()
                switch message.string("type") {
                case "pong": pongs += 1
                case "error":
                    #expect(message.string("code") == "rate-limited")
                    limited.append(message.string("message") ?? "")
                default: Issue.record("unexpected \(message)")
                }
            }
            #expect(pongs == 3)
            // Said once per burst, not once per dropped frame; then closed.
            #expect(limited == ["slow down; messages were dropped", "too many messages; closing"])
            #expect(try await s.veileder.socket.closeCode() == .policyViolation)
        }
    }

    /// The hub's once-a-second sweep drops a socket whose `hello` is
    /// overdue, on the monotonic clock: a step of the wall clock (an NTP
    /// step, or a test moving the server to a booking) drops no one.
    @Test func aClientThatNeverSaysHelloIsDropped() async throws {
        try await withServer({ $0.helloTimeout = .seconds(3) }) { server in
            let socket = try await WSTestClient.connect(server)
            // An hour later on the wall clock, a moment later in time: the
            // sweeps of the next 1.5 s (at least one) leave the socket alone.
            server.clock.advance(by: 3600)
            try await socket.expectSilence(for: .milliseconds(1500))
            #expect(!socket.isFinished)
            // Once 3 s have passed, the next sweep drops it.
            try await socket.expectError("hello-timeout")
            #expect(try await socket.closeCode() == .policyViolation)
        }
    }

    /// The upgrade is sent by curl, an independent client that sends exactly
    /// the Origin it is given (as a browser would), over TLS checked against
    /// the test CA. A refused upgrade is answered 400 and never switches protocols.
    @Test func upgradesFromAnotherOriginAreRefused() async throws {
        try await withServer { server in
            let own = "https://localhost:\(server.port)"
            for origin in ["https://evil.example", "null", "http://localhost:\(server.port)", "https://localhost:1"] {
                let status = try await Self.upgradeStatus(server, origins: [origin])
                #expect(status == "400", "origin \(origin)")
            }
            let twoOrigins = try await Self.upgradeStatus(server, origins: [own, "https://evil.example"])
            #expect(twoOrigins == "400")
            let crossSite = try await Self.upgradeStatus(server, origins: [own], extra: ["Sec-Fetch-Site: cross-site"])
            #expect(crossSite == "400")
            let sameOrigin = try await Self.upgradeStatus(server, origins: [own])
            #expect(sameOrigin == "101")
        }
    }

    /// curl's status line for one upgrade. A 101 leaves curl holding the open
    /// socket until `--max-time`, so the first try is short; "000" means no
    /// answer arrived in time (a loaded CI machine with every suite running at
    /// once), and only then is it asked again with more time. Any real answer,
    /// right or wrong, is returned at once.
    static func upgradeStatus(_ server: LiveServer, origins: [String], extra: [String] = []) async throws -> String {
        var status = "000"
        for seconds in [3, 10, 30] where status == "000" {
            status = try await curlUpgrade(server, origins: origins, extra: extra, maxSeconds: seconds)
        }
        return status
    }

    private static func curlUpgrade(_ server: LiveServer, origins: [String], extra: [String], maxSeconds: Int) async throws -> String {
        var arguments = [
            "--silent", "--http1.1", "--max-time", String(maxSeconds), "--output", "/dev/null", "--write-out", "%{http_code}",
            "--cacert", TestCertificates.directory.appendingPathComponent("ca.crt").path,
            "-H", "Connection: Upgrade", "-H", "Upgrade: websocket", "-H", "Sec-WebSocket-Version: 13",
            "-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        ]
        for origin in origins { arguments += ["-H", "Origin: \(origin)"] }
        for header in extra { arguments += ["-H", header] }
        arguments.append("https://localhost:\(server.port)/ws")
        return try await Command.run("/usr/bin/curl", arguments).output
    }

    /// A deltaker whose socket stays open but never answers a ping (a phone
    /// that lost its network) is dropped by the server's pings, and the
    /// veileder is told. The silent peer is a few lines of Python speaking
    /// raw WebSocket over TLS, so nothing answers pings on its behalf.
    /// Pings every 3 s: at 1 s a machine busy with the other suites kept the
    /// veileder's own (answering) test client from its pong in time, and it was dropped too.
    @Test func aPeerThatStopsAnsweringPingsIsDropped() async throws {
        try await withServer({ $0.pingInterval = .seconds(3) }) { server in
            let s = try await Flow.setUp(server)
            let silent = Process()
            silent.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            silent.arguments = [
                "python3", "-c", Self.silentPeer, String(server.port), s.token,
                TestCertificates.directory.appendingPathComponent("ca.crt").path,
            ]
            // Its output goes nowhere, so it never holds the test run's pipes open.
            silent.standardOutput = FileHandle.nullDevice
            silent.standardError = FileHandle.nullDevice
            try silent.run()
            defer {
                kill(silent.processIdentifier, SIGKILL)
                silent.waitUntilExit()
            }
            let knock = try await s.veileder.socket.expect("knock", ignoring: ["roster"], timeout: .seconds(20))
            s.veileder.socket.send(["type": .string("admit"), "participant": knock["participant"]!])
            let participant = try #require(knock.string("participant"))
            try await s.veileder.socket.expectRoster([s.veileder.participant, participant])
            // Dropped by the pings: the roster has the veileder alone again.
            try await s.veileder.socket.expectRoster([s.veileder.participant], timeout: .seconds(20))
            #expect(silent.isRunning, "the silent peer must still hold its socket open")
        }
    }

    static let silentPeer = #"""
        import base64, json, os, socket, ssl, sys, time
        port, token, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3]
        tls = ssl.create_default_context(cafile=ca).wrap_socket(
            socket.create_connection(("localhost", port)), server_hostname="localhost")
        key = base64.b64encode(os.urandom(16)).decode()
        tls.sendall((f"GET /ws HTTP/1.1\r\nHost: localhost:{port}\r\nUpgrade: websocket\r\n"
                     f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += tls.recv(1)
        assert b" 101 " in head.split(b"\r\n")[0], head
        payload = json.dumps({"type": "hello", "v": 2, "token": token}).encode()
        mask = os.urandom(4)
        tls.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        time.sleep(30)  # never read again, never answer a ping
        """#

    @Test func aFullLobbyTurnsMoreDeltakereAway() async throws {
        try await withServer({ $0.room.lobbyCapacity = 2 }) { server in
            let s = try await Flow.setUp(server)
            _ = try await Flow.knock(s, token: s.token)
            _ = try await Flow.knock(s, token: s.token)
            let third = try await WSTestClient.connect(server)
            third.send(Self.hello(token: s.token))
            try await third.expectError("room-full")
            #expect(try await third.closeCode() == .policyViolation)
        }
    }
}
