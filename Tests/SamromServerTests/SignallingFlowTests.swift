import Foundation
import NIOWebSocket
import SamromCore
import SamromServer
import SamromTestSupport
import Testing

/// The whole happy path over real TLS WebSockets, and resume.
@Suite struct SignallingFlowTests {
    /// A logged-in veileder with one consultation and the veileder's socket
    /// already welcomed.
    struct Setup {
        let http: HTTPTestClient
        let consultation: String
        let token: String
        let veileder: WSTestClient
        let welcome: [String: JSONValue]
    }

    static func setUp(_ server: LiveServer, username: String = "kari") async throws -> Setup {
        try await server.addUser(username, role: .veileder)
        let http = HTTPTestClient(server)
        try await http.login(username)
        let (id, token) = try await http.createConsultation(title: "Oppstart")
        let veileder = try await WSTestClient.connect(server, cookie: http.cookie)
        veileder.send(["type": .string("hello"), "v": .int(1), "consultation": .string(id)])
        let welcome = try await veileder.expect("welcome")
        return Setup(http: http, consultation: id, token: token, veileder: veileder, welcome: welcome)
    }

    static func knock(_ server: LiveServer, token: String) async throws -> (WSTestClient, [String: JSONValue]) {
        let deltaker = try await WSTestClient.connect(server)
        deltaker.send(["type": .string("hello"), "v": .int(1), "token": .string(token)])
        let welcome = try await deltaker.expect("welcome")
        try await deltaker.expect("lobby")
        return (deltaker, welcome)
    }

    /// A deltaker with the link knocks and the veileder lets them in; both
    /// have seen each other join. Returns the deltaker's socket and participant id.
    static func admitted(_ server: LiveServer, _ s: Setup) async throws -> (WSTestClient, String) {
        let (deltaker, welcome) = try await knock(server, token: s.token)
        let id = try #require(welcome.object("you")?.string("participant"))
        try await s.veileder.expect("knock")
        s.veileder.send(["type": .string("admit"), "participant": .string(id)])
        try await deltaker.expect("admitted")
        try await deltaker.expect("peer-joined")
        try await s.veileder.expect("peer-joined")
        return (deltaker, id)
    }

    @Test func knockAdmitSignalLeaveAndEnd() async throws {
        try await withServer { server in
            let s = try await Self.setUp(server)
            #expect(s.welcome.object("you")?.string("role") == "veileder")
            #expect(s.welcome.object("consultation")?.string("title") == "Oppstart")
            #expect(s.welcome.array("iceServers") == [])
            #expect(s.welcome.string("resume")?.count == 43)

            let (deltaker, dWelcome) = try await Self.knock(server, token: s.token)
            let dID = try #require(dWelcome.object("you")?.string("participant"))
            #expect(dWelcome.object("you")?.string("role") == "deltaker")
            // The deltaker never sees the veileder's own title.
            #expect(dWelcome.object("consultation")?.string("title") == nil)
            let knock = try await s.veileder.expect("knock")
            #expect(knock.string("participant") == dID)

            s.veileder.send(["type": .string("admit"), "participant": .string(dID)])
            try await deltaker.expect("admitted")
            let seen = try await deltaker.expect("peer-joined")
            #expect(seen.string("role") == "veileder")
            let joined = try await s.veileder.expect("peer-joined")
            #expect(joined.string("participant") == dID)

            let vID = try #require(s.welcome.object("you")?.string("participant"))
            s.veileder.send(#"{"type":"offer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}"#)
            let offer = try await deltaker.expect("offer")
            #expect(offer.string("from") == vID)
            #expect(offer.string("sdp") == "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n")
            deltaker.send(#"{"type":"answer","sdp":"v=0\r\n"}"#)
            #expect(try await s.veileder.expect("answer").string("from") == dID)
            deltaker.send(#"{"type":"ice","candidate":{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 54321 typ host","sdpMid":"0","sdpMLineIndex":0}}"#)
            let ice = try await s.veileder.expect("ice")
            #expect(ice.object("candidate")?.string("sdpMid") == "0")
            // The camera goes off and on: the other side is told who, and which.
            s.veileder.send(#"{"type":"media","video":false}"#)
            let media = try await deltaker.expect("media")
            #expect(media.string("from") == vID)
            #expect(media["video"] == .bool(false))
            deltaker.send(#"{"type":"media","video":true}"#)
            #expect(try await s.veileder.expect("media")["video"] == .bool(true))
            s.veileder.send(["type": .string("ping")])
            try await s.veileder.expect("pong")

            deltaker.send(["type": .string("leave")])
            #expect(try await deltaker.closeCode() == .normalClosure)
            let left = try await s.veileder.expect("peer-left")
            #expect(left.string("participant") == dID)

            s.veileder.send(["type": .string("end")])
            try await s.veileder.expect("ended")
            #expect(try await s.veileder.closeCode() == .normalClosure)

            // The trail names every step, and no token or SDP.
            let entries = try await server.auditEntries()
            let actions = entries.map(\.event.action.rawValue)
            for action in ["login", "consultation.create", "room.join", "room.knock", "room.admit", "room.leave", "consultation.end"] {
                #expect(actions.contains(action), "missing \(action)")
            }
            let all = entries.map { String(decoding: $0.canonicalBytes(), as: UTF8.self) }.joined()
            #expect(!all.contains(s.token))
            #expect(!all.contains("v=0"))
            #expect(!all.contains("candidate:"))

            // An ended consultation cannot be joined again.
            let late = try await WSTestClient.connect(server)
            late.send(["type": .string("hello"), "v": .int(1), "token": .string(s.token)])
            try await late.expectError("ended")
            #expect(try await late.closeCode() == .policyViolation)
        }
    }

    @Test func deniedDeltakerIsToldAndDisconnected() async throws {
        try await withServer { server in
            let s = try await Self.setUp(server)
            let (deltaker, welcome) = try await Self.knock(server, token: s.token)
            let id = try #require(welcome.object("you")?.string("participant"))
            try await s.veileder.expect("knock")
            s.veileder.send(["type": .string("deny"), "participant": .string(id)])
            try await deltaker.expect("denied")
            #expect(try await deltaker.closeCode() == .normalClosure)
            #expect(try await server.auditEntries().contains { $0.event.action == .deny })
        }
    }

    @Test func resumeWithinGraceNeedsNoKnockAndAfterGraceFails() async throws {
        let clock = TestClock()
        try await withServer(clock: clock, { $0.room.resumeGrace = 120 }) { server in
            let s = try await Self.setUp(server)
            let (deltaker, welcome) = try await Self.knock(server, token: s.token)
            let id = try #require(welcome.object("you")?.string("participant"))
            let resume = try #require(welcome.string("resume"))
            try await s.veileder.expect("knock")
            s.veileder.send(["type": .string("admit"), "participant": .string(id)])
            try await deltaker.expect("admitted")
            try await s.veileder.expect("peer-joined")

            // The network drops; the veileder sees it.
            deltaker.close()
            _ = try await deltaker.closeCode()
            #expect(try await s.veileder.expect("peer-left").string("participant") == id)
            // While the seat waits, nothing is relayed into it.
            s.veileder.send(#"{"type":"offer","sdp":"v=0\r\n"}"#)
            try await s.veileder.expectError("peer-absent")

            // Back within the grace period: same participant, straight into the call.
            clock.advance(by: 60)
            let back = try await WSTestClient.connect(server)
            back.send(["type": .string("hello"), "v": .int(1), "resume": .string(resume)])
            let again = try await back.expect("welcome")
            #expect(again.object("you")?.string("participant") == id)
            #expect(again.array("peers")?.count == 1)
            try await back.expect("admitted")
            #expect(try await s.veileder.expect("peer-joined").string("participant") == id)
            // No knock for the veileder.
            try await s.veileder.expectSilence()
            // Signalling flows again, both ways, on the new connection.
            s.veileder.send(#"{"type":"offer","sdp":"v=0\r\nrestart\r\n"}"#)
            #expect(try await back.expect("offer").string("sdp") == "v=0\r\nrestart\r\n")
            back.send(#"{"type":"answer","sdp":"v=0\r\n"}"#)
            #expect(try await s.veileder.expect("answer").string("from") == id)
            // A resume token works once.
            let replay = try await WSTestClient.connect(server)
            replay.send(["type": .string("hello"), "v": .int(1), "resume": .string(resume)])
            try await replay.expectError("invalid-token")

            // Dropped again, and back too late.
            let secondResume = try #require(again.string("resume"))
            back.close()
            _ = try await back.closeCode()
            try await s.veileder.expect("peer-left")
            clock.advance(by: 121)
            let late = try await WSTestClient.connect(server)
            late.send(["type": .string("hello"), "v": .int(1), "resume": .string(secondResume)])
            let failure = try await late.next()
            let code = failure.string("code")
            #expect(code == "expired" || code == "invalid-token")
            #expect(try await late.closeCode() == .policyViolation)
        }
    }

    @Test func secondBrowserWithTheSameLinkWaitsInTheLobby() async throws {
        try await withServer { server in
            let s = try await Self.setUp(server)
            let (first, _) = try await Self.admitted(server, s)

            let (second, w2) = try await Self.knock(server, token: s.token)
            let secondID = try #require(w2.object("you")?.string("participant"))
            #expect(try await s.veileder.expect("knock").string("participant") == secondID)
            // It is never admitted without the veileder, and cannot signal.
            second.send(#"{"type":"offer","sdp":"v=0\r\n"}"#)
            try await second.expectError("not-admitted")
            try await first.expectSilence()
            // The seat is taken.
            s.veileder.send(["type": .string("admit"), "participant": .string(secondID)])
            try await s.veileder.expectError("room-full")
            // When it leaves the lobby, the veileder is told.
            second.close()
            #expect(try await s.veileder.expect("lobby-left").string("participant") == secondID)
        }
    }

    @Test func aSecondVeilederTabReplacesTheFirst() async throws {
        try await withServer { server in
            let s = try await Self.setUp(server)
            let (deltaker, _) = try await Self.admitted(server, s)
            let tab = try await WSTestClient.connect(server, cookie: s.http.cookie)
            tab.send(["type": .string("hello"), "v": .int(1), "consultation": .string(s.consultation)])
            try await tab.expect("welcome")
            try await s.veileder.expectError("session-replaced")
            #expect(try await s.veileder.closeCode() == .policyViolation)
            // The deltaker sees the veileder go and come back, and their
            // signalling now reaches the new tab.
            try await deltaker.expect("peer-left")
            try await deltaker.expect("peer-joined")
            deltaker.send(#"{"type":"offer","sdp":"v=0\r\ntab\r\n"}"#)
            #expect(try await tab.expect("offer").string("sdp") == "v=0\r\ntab\r\n")
            tab.send(#"{"type":"answer","sdp":"v=0\r\n"}"#)
            try await deltaker.expect("answer")
        }
    }
}
