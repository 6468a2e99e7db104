import Foundation
import NIOHTTP1
import NIOWebSocket
import SamromCore
import SamromServer
import SamromTestSupport
import Sodium
import Testing

/// Calls of two to six people with roles over real TLS WebSockets: knocks,
/// admission, the roster, sealed signalling, the call code, capacity,
/// replaced links, resume.
@Suite struct SignallingFlowTests {
    /// A logged-in veileder with one consultation, in its call with a key announced.
    struct Setup {
        let server: LiveServer
        let http: HTTPTestClient
        let consultation: String
        let token: String
        let veileder: CallParticipant
    }

    static func setUp(_ server: LiveServer, username: String = "kari") async throws -> Setup {
        try await server.addUser(username, role: .veileder)
        let http = HTTPTestClient(server)
        try await http.login(username)
        let (id, token) = try await http.createConsultation(title: "Oppstart")
        let veileder = try await CallParticipant.veileder(port: server.port, tls: server.tlsConfiguration, cookie: http.cookie!, consultation: id)
        veileder.announceKey()
        try await veileder.socket.expectRoster([veileder.participant], withKeys: true)
        return Setup(server: server, http: http, consultation: id, token: token, veileder: veileder)
    }

    /// A new link for `role`; returns its token.
    static func link(_ s: Setup, role: String) async throws -> String {
        let reply = try await s.http.request(.POST, "/api/consultations/\(s.consultation)/links", body: #"{"role":"\#(role)"}"#)
        #expect(reply.status == 201)
        #expect(reply.string("role") == role)
        let url = try #require(reply.string("joinUrl"))
        return String(try #require(url.split(separator: "#").last))
    }

    static func knock(_ s: Setup, token: String) async throws -> CallParticipant {
        try await CallParticipant.knock(port: s.server.port, tls: s.server.tlsConfiguration, token: token, consultation: s.consultation)
    }

    /// Knocks with `token`, is admitted by the veileder and announces its key;
    /// everyone in `call` (veileder first) sees the new roster with every key.
    static func join(_ s: Setup, token: String, call: [CallParticipant]) async throws -> CallParticipant {
        let person = try await knock(s, token: token)
        let knock = try await s.veileder.socket.expect("knock", ignoring: ["roster", "key"])
        #expect(knock.string("participant") == person.participant)
        #expect(knock.string("role") == person.role)
        s.veileder.socket.send(["type": .string("admit"), "participant": .string(person.participant)])
        let admitted = try await person.socket.expect("admitted")
        #expect(admitted.array("iceServers") == [])
        #expect(admitted.string("iceTransportPolicy") == "all")
        person.announceKey()
        let everyone = call + [person]
        for member in everyone {
            try await member.socket.expectRoster(everyone.map(\.participant), withKeys: true)
        }
        return person
    }

    /// The veileder and a deltaker in the call, and a second deltaker waiting
    /// in the lobby (the veileder has seen the knock): where refusals are tested.
    static func callWithOneWaiting(_ server: LiveServer) async throws -> (Setup, CallParticipant, waiting: CallParticipant) {
        let s = try await setUp(server)
        let d = try await join(s, token: s.token, call: [s.veileder])
        let waiting = try await knock(s, token: s.token)
        try await s.veileder.socket.expect("knock", ignoring: ["roster", "key"])
        return (s, d, waiting)
    }

    /// Runs the call code (commit, reveal, code) between `people` over the
    /// real server, each with the Swift reference `CallCode`; returns each one's code.
    static func agreeOnCallCode(_ people: [CallParticipant]) async throws -> [String] {
        var codes = people.map { CallCode(own: $0.keys.publicKey) }
        var results: [String?] = Array(repeating: nil, count: people.count)
        let byKey = Dictionary(uniqueKeysWithValues: people.map { ($0.keyID, $0) })
        func carry(_ outputs: [CallCode.Output], of index: Int) throws {
            for output in outputs {
                switch output {
                case .send(let to, let payload): try people[index].sendSignal(payload, to: try #require(byKey[to]))
                case .code(let code): results[index] = code
                case .mismatch(let keyId): throw TestFailure("the reveal of \(keyId) did not match")
                }
            }
        }
        for (index, person) in people.enumerated() {
            try carry(codes[index].viewChanged(people.filter { $0.keyID != person.keyID }.map(\.keys.publicKey)), of: index)
        }
        let deadline = ContinuousClock.now + .seconds(20)
        while results.contains(where: { $0 == nil }) {
            guard ContinuousClock.now < deadline else { throw TestFailure("no call code within 20 s: \(results)") }
            for (index, person) in people.enumerated() {
                guard let frame = try? await person.socket.next(timeout: .milliseconds(20)) else { continue }
                guard frame.string("type") == "signal", let from = frame.string("senderKeyId"), let sender = byKey[from] else {
                    throw TestFailure("unexpected while agreeing: \(frame)")
                }
                #expect(frame.string("from") == sender.participant)
                try carry(codes[index].received(try person.open(frame, from: sender.keys.publicKey), from: from), of: index)
            }
        }
        return results.compactMap { $0 }
    }

    // MARK: Calls with roles

    @Test func aVeilederADeltakerAndATolk() async throws {
        try await withServer { server in
            let s = try await Self.setUp(server)
            let v = s.veileder
            #expect(v.welcome["v"] == .int(2))
            #expect(v.role == "veileder")
            #expect(v.welcome.object("consultation")?.string("title") == "Oppstart")
            // No ICE servers and no peers before admission: only in `admitted`.
            #expect(v.welcome["iceServers"] == nil && v.welcome["peers"] == nil)
            #expect(v.resume.count == 43)

            let d = try await Self.join(s, token: s.token, call: [v])
            #expect(d.role == "deltaker")
            // The deltaker never sees the veileder's own title.
            #expect(d.welcome.object("consultation")?.string("title") == nil)
            let tolkToken = try await Self.link(s, role: "tolk")
            let t = try await Self.join(s, token: tolkToken, call: [v, d])
            #expect(t.role == "tolk")

            // A sealed offer reaches the tolk only, who opens it; the server saw a box.
            try v.sendSignal(.offer(sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"), to: t)
            let offer = try await t.socket.expect("signal")
            #expect(offer.string("from") == v.participant)
            #expect(try t.open(offer, from: v.keys.publicKey) == .offer(sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"))
            try t.sendSignal(.answer(sdp: "v=0\r\n"), to: v)
            #expect(try v.open(try await v.socket.expect("signal"), from: t.keys.publicKey) == .answer(sdp: "v=0\r\n"))
            try d.sendSignal(.profile(name: "Ola"), to: t)
            #expect(try t.open(try await t.socket.expect("signal"), from: d.keys.publicKey) == .profile(name: "Ola"))
            try await d.socket.expectSilence()

            // All three read the same call code.
            let codes = try await Self.agreeOnCallCode([v, d, t])
            #expect(codes.count == 3 && Set(codes).count == 1)
            #expect(codes[0].range(of: #"^\d{4} \d{4} \d{4}$"#, options: .regularExpression) != nil)

            // The tolk leaves; the others see it in the roster.
            t.socket.send(["type": .string("leave")])
            #expect(try await t.socket.closeCode() == .normalClosure)
            try await v.socket.expectRoster([v.participant, d.participant])
            try await d.socket.expectRoster([v.participant, d.participant])
            v.socket.send(["type": .string("end")])
            try await v.socket.expect("ended", ignoring: ["roster"])
            try await d.socket.expect("ended", ignoring: ["roster"])
            #expect(try await d.socket.closeCode() == .normalClosure)

            // The trail names every step with its role, and no token, SDP or name.
            let entries = try await server.auditEntries()
            let actions = entries.map(\.event.action.rawValue)
            for action in ["login", "consultation.create", "consultation.link", "room.join", "room.knock", "room.admit", "room.key", "room.leave", "consultation.end"] {
                #expect(actions.contains(action), "missing \(action)")
            }
            #expect(entries.contains { $0.event.action == .knock && $0.event.actor.role == "tolk" && $0.event.reason == "tolk is waiting in the lobby" })
            #expect(entries.contains { $0.event.action == .admit && $0.event.reason.hasPrefix("veileder admitted a tolk") })
            #expect(entries.contains { $0.event.action == .leave && $0.event.actor.role == "tolk" && $0.event.reason == "tolk left" })
            let all = entries.map { String(decoding: $0.canonicalBytes(), as: UTF8.self) }.joined()
            for secret in [s.token, tolkToken, "v=0", "Ola"] { #expect(!all.contains(secret)) }

            // An ended consultation cannot be joined again.
            let late = try await WSTestClient.connect(server)
            late.send(["type": .string("hello"), "v": .int(2), "token": .string(tolkToken)])
            try await late.expectError("ended")
            #expect(try await late.closeCode() == .policyViolation)
            // The refusal names the role the link is for.
            #expect(try await server.auditEntries().contains {
                $0.event.action == .join && $0.event.outcome == .denied && $0.event.actor.role == "tolk" && $0.event.reason == "consultation has ended"
            })
        }
    }

    @Test func aGroupOfSixAgreesOnTheCodeAndTheSeventhIsTurnedAway() async throws {
        try await withServer { server in
            let s = try await Self.setUp(server)
            var call = [s.veileder]
            // Several deltakere with the one group link.
            for _ in 0..<3 { call.append(try await Self.join(s, token: s.token, call: call)) }
            let four = try await Self.agreeOnCallCode(call)
            #expect(four.count == 4 && Set(four).count == 1)

            call.append(try await Self.join(s, token: s.token, call: call))
            call.append(try await Self.join(s, token: try await Self.link(s, role: "tolk"), call: call))
            let six = try await Self.agreeOnCallCode(call)
            #expect(six.count == 6 && Set(six).count == 1)
            #expect(six[0] != four[0])

            // A fifth deltaker waits but cannot be let in; the veileder is told and stays.
            let fifth = try await Self.knock(s, token: s.token)
            try await s.veileder.socket.expect("knock", ignoring: ["roster", "key"])
            s.veileder.socket.send(["type": .string("admit"), "participant": .string(fifth.participant)])
            try await s.veileder.socket.expectError("room-full")
            s.veileder.socket.send(["type": .string("ping")])
            try await s.veileder.socket.expect("pong")
            // Nobody in the call heard of it.
            for member in call.dropFirst() { try await member.socket.expectSilence() }
            #expect(try await server.app.hub.presence(of: [ConsultationID(rawValue: s.consultation)]).values.first == CallPresence(waiting: 1, inCall: 6))
        }
    }

    // MARK: What the relay refuses

    @Test func signalsThatMustNotBeRelayedAreRefusedAndTheConnectionLivesOn() async throws {
        try await withServer { server in
            let (s, d, waiting) = try await Self.callWithOneWaiting(server)
            let v = s.veileder

            // To someone not in this call (the one in the lobby, or a made-up id).
            v.socket.send(try v.signalFrame(.offer(sdp: "v=0"), to: waiting.participant, peer: waiting.keys.publicKey))
            try await v.socket.expectError("not-in-call")
            v.socket.send(try v.signalFrame(.offer(sdp: "v=0"), to: "p-nobody", peer: d.keys.publicKey))
            try await v.socket.expectError("not-in-call")
            // From the lobby.
            waiting.socket.send(try waiting.signalFrame(.offer(sdp: "v=0"), to: v.participant, peer: v.keys.publicKey))
            try await waiting.socket.expectError("not-admitted")
            // Under a key id that is not the sender's.
            var forged = try d.signalFrame(.offer(sdp: "v=0"), to: v.participant, peer: v.keys.publicKey)
            forged["senderKeyId"] = .string(v.keyID)
            d.socket.send(forged)
            try await d.socket.expectError("bad-field")
            // A box over 48 KiB (in a frame under the 128 KiB limit).
            var large = try d.signalFrame(.offer(sdp: "v=0"), to: v.participant, peer: v.keys.publicKey)
            large["box"] = .string(String(repeating: "A", count: 65_536 + 344))
            d.socket.send(large)
            try await d.socket.expectError("too-large")
            // v1's plaintext call set-up is gone.
            for frame in [#"{"type":"offer","sdp":"v=0\r\n"}"#, #"{"type":"answer","sdp":"v=0\r\n"}"#,
                          #"{"type":"ice","candidate":{"candidate":""}}"#, #"{"type":"media","video":false}"#] {
                d.socket.send(frame)
                try await d.socket.expectError("unknown-type")
            }
            // Nothing of it reached anyone, and every connection lives on.
            try await v.socket.expectSilence()
            for person in [v, d, waiting] {
                person.socket.send(["type": .string("ping")])
                try await person.socket.expect("pong")
            }
            // A real signal still goes through.
            try d.sendSignal(.media(video: false, audio: false), to: v)
            #expect(try v.open(try await v.socket.expect("signal"), from: d.keys.publicKey) == .media(video: false, audio: false))
        }
    }

    @Test func aNewLinkForARoleTurnsAwayWhoeverWaitsWithTheOldOne() async throws {
        try await withServer { server in
            let s = try await Self.setUp(server)
            let tolkToken = try await Self.link(s, role: "tolk")
            let deltaker = try await Self.knock(s, token: s.token)
            try await s.veileder.socket.expect("knock", ignoring: ["roster", "key"])
            let tolk = try await Self.knock(s, token: tolkToken)
            try await s.veileder.socket.expect("knock", ignoring: ["roster", "key"])

            let newToken = try await Self.link(s, role: "deltaker")
            try await deltaker.socket.expectError("invalid-token")
            #expect(try await deltaker.socket.closeCode() == .policyViolation)
            #expect(try await s.veileder.socket.expect("lobby-left").string("participant") == deltaker.participant)
            // The tolk, with the other role's link, still waits.
            try await tolk.socket.expectSilence()
            #expect(try await server.app.hub.presence(of: [ConsultationID(rawValue: s.consultation)]).values.first?.waiting == 1)
            // The old link is refused; the new one works.
            let old = try await WSTestClient.connect(server)
            old.send(["type": .string("hello"), "v": .int(2), "token": .string(s.token)])
            try await old.expectError("invalid-token")
            _ = try await Self.knock(s, token: newToken)
            // A link is only for a deltaker or a tolk.
            let bad = try await s.http.request(.POST, "/api/consultations/\(s.consultation)/links", body: #"{"role":"veileder"}"#)
            #expect(bad.status == 400 && bad.errorCode == "bad-field")
            let missing = try await s.http.request(.POST, "/api/consultations/\(s.consultation)/links", body: #"{}"#)
            #expect(missing.status == 400)
            #expect(try await server.auditEntries().contains { $0.event.action == .leave && $0.event.reason == "removed from the lobby: the deltaker link was replaced" })
        }
    }

    @Test func aHoldMessageReachesTheWaitingOneAndIsKeptNowhere() async throws {
        try await withServer { server in
            let s = try await Self.setUp(server)
            let d = try await Self.join(s, token: s.token, call: [s.veileder])
            let waiting = try await Self.knock(s, token: try await Self.link(s, role: "tolk"))
            try await s.veileder.socket.expect("knock", ignoring: ["roster", "key"])
            let marker = "Jeg kommer om fem minutter, hold-\(UUID().uuidString)"
            s.veileder.socket.send(["type": .string("hold"), "participant": .string(waiting.participant), "text": .string("  \(marker) ")])
            #expect(try await waiting.socket.expect("hold").string("text") == marker)
            try await d.socket.expectSilence()
            // Only the veileder, only to someone waiting, only a short sentence.
            d.socket.send(["type": .string("hold"), "participant": .string(waiting.participant), "text": .string("hei")])
            try await d.socket.expectError("forbidden")
            s.veileder.socket.send(["type": .string("hold"), "participant": .string(d.participant), "text": .string("hei")])
            try await s.veileder.socket.expectError("not-waiting")
            for text in ["", "   ", String(repeating: "a", count: 201), "a\u{0007}b"] {
                s.veileder.socket.send(["type": .string("hold"), "participant": .string(waiting.participant), "text": .string(text)])
                try await s.veileder.socket.expectError("bad-field")
            }
            try await waiting.socket.expectSilence()
            // The log says it was sent, never what; nothing on disk holds it.
            let entries = try await server.auditEntries()
            #expect(entries.contains { $0.event.action == .hold && $0.event.reason.hasPrefix("veileder asked a waiting tolk to hold on") })
            #expect(!entries.map { String(decoding: $0.canonicalBytes(), as: UTF8.self) }.joined().contains("hold-"))
            try await server.app.auditLog.checkpoint()
            for file in try FileManager.default.contentsOfDirectory(atPath: server.dataDirectory.path) {
                let data = FileManager.default.contents(atPath: server.dataDirectory.appendingPathComponent(file).path) ?? Data()
                #expect(data.range(of: Data(marker.utf8)) == nil, "\(file) holds the hold message")
            }
        }
    }

    // MARK: Deny, resume, a second tab

    @Test func aDeniedDeltakerIsToldAndDisconnected() async throws {
        try await withServer { server in
            let s = try await Self.setUp(server)
            let deltaker = try await Self.knock(s, token: s.token)
            try await s.veileder.socket.expect("knock", ignoring: ["roster", "key"])
            s.veileder.socket.send(["type": .string("deny"), "participant": .string(deltaker.participant)])
            try await deltaker.socket.expect("denied")
            #expect(try await deltaker.socket.closeCode() == .normalClosure)
            #expect(try await server.auditEntries().contains { $0.event.action == .deny && $0.event.reason.hasPrefix("veileder denied a deltaker") })
        }
    }

    @Test func resumeWithinGraceNeedsNoKnockAndAfterGraceFails() async throws {
        let clock = TestClock()
        try await withServer(clock: clock, { $0.room.resumeGrace = 120 }) { server in
            let s = try await Self.setUp(server)
            let v = s.veileder
            let d = try await Self.join(s, token: s.token, call: [v])

            // The network drops; the veileder sees it, and nothing is relayed into the seat.
            d.socket.close()
            _ = try await d.socket.closeCode()
            try await v.socket.expectRoster([v.participant])
            try v.sendSignal(.offer(sdp: "v=0"), to: d)
            try await v.socket.expectError("peer-absent")

            // Back within the grace period: same participant, straight into the call, same key.
            clock.advance(by: 60)
            let back = try await CallParticipant.resume(d, port: server.port, tls: server.tlsConfiguration)
            #expect(back.participant == d.participant && back.role == "deltaker")
            back.announceKey()
            try await v.socket.expectRoster([v.participant, d.participant], withKeys: true)
            try await back.socket.expectRoster([v.participant, d.participant], withKeys: true)
            try v.sendSignal(.offer(sdp: "v=0 restart"), to: back)
            #expect(try back.open(try await back.socket.expect("signal"), from: v.keys.publicKey) == .offer(sdp: "v=0 restart"))
            // A resume token works once.
            let replay = try await WSTestClient.connect(server)
            replay.send(["type": .string("hello"), "v": .int(2), "resume": .string(d.resume)])
            try await replay.expectError("invalid-token")
            // A veileder's resume token needs the veileder's session cookie too.
            let thief = try await WSTestClient.connect(server)
            thief.send(["type": .string("hello"), "v": .int(2), "resume": .string(v.resume)])
            try await thief.expectError("forbidden")

            // Dropped again, and back too late.
            back.socket.close()
            _ = try await back.socket.closeCode()
            clock.advance(by: 121)
            let late = try await WSTestClient.connect(server)
            late.send(["type": .string("hello"), "v": .int(2), "resume": .string(back.resume)])
            let code = try await late.next().string("code")
            #expect(code == "expired" || code == "invalid-token")
            #expect(try await late.closeCode() == .policyViolation)
            #expect(try await server.auditEntries().contains { $0.event.action == .resume && $0.event.reason == "deltaker came back within the grace period" })
        }
    }

    @Test func aSecondVeilederTabReplacesTheFirst() async throws {
        try await withServer { server in
            let s = try await Self.setUp(server)
            let d = try await Self.join(s, token: s.token, call: [s.veileder])
            let tab = try await CallParticipant.veileder(
                port: server.port, tls: server.tlsConfiguration, cookie: s.http.cookie!, consultation: s.consultation, keys: s.veileder.keys)
            try await s.veileder.socket.expectError("session-replaced", ignoring: ["roster", "key"])
            #expect(try await s.veileder.socket.closeCode() == .policyViolation)
            #expect(tab.participant == s.veileder.participant)
            tab.announceKey()
            try await d.socket.expectRoster([tab.participant, d.participant], withKeys: true)
            try d.sendSignal(.offer(sdp: "v=0 tab"), to: tab)
            #expect(try tab.open(try await tab.socket.expect("signal", ignoring: ["roster", "key"]), from: d.keys.publicKey) == .offer(sdp: "v=0 tab"))
        }
    }
}

extension WSTestClient {
    /// The next error, passing over the `ignoring` types, must have this code.
    func expectError(_ code: String, ignoring: Set<String>) async throws {
        let message = try await expect("error", ignoring: ignoring)
        guard message.string("code") == code else { throw TestFailure("expected error \(code), got \(message)") }
    }
}
