import Foundation
import NIOHTTP1
import NIOWebSocket
import SamromCore
import SamromServer
import SamromTestSupport
import Sodium
import Testing

/// Issue 14: a call's home. A restarted server takes its calls back from
/// the store; two instances on one store send a client to the call's home
/// with `moved`, and the survivor takes a call over once the lease of an
/// instance that is gone has run out. On SQLite (two servers over one data
/// directory) and, in `make test`, on PostgreSQL.
@Suite struct CallHomeTests {
    typealias Setup = SignallingFlowTests.Setup

    /// The veileder and a deltaker in the call with keys, and a chat message stored.
    static func callWithChat(_ server: LiveServer) async throws -> (Setup, deltaker: CallParticipant) {
        let s = try await SignallingFlowTests.setUp(server)
        let d = try await SignallingFlowTests.join(s, token: s.token, call: [s.veileder])
        d.socket.send(try d.chatFrame("Før omstarten", id: "d-1", to: [s.veileder.keys.publicKey, d.keys.publicKey]))
        #expect(try await d.socket.expect("chat-ack")["seq"] == .int(0))
        _ = try await s.veileder.socket.expect("chat", ignoring: ["roster", "key"])
        return (s, d)
    }

    /// Reads this participant's chat history and opens each message.
    static func history(_ person: CallParticipant, from senders: [String: KeyExchange.PublicKey]) async throws -> [String] {
        person.socket.send(["type": .string("history")])
        let page = try await person.socket.expect("history", ignoring: ["roster", "key", "chat"])
        return try (page.array("messages") ?? []).map { item in
            guard case .object(let message) = item, let from = message.string("from"), let key = senders[from] else {
                throw TestFailure("a history message from someone unknown")
            }
            return try person.openChat(message, from: key)
        }
    }

    @Test func aRestartedServerTakesItsCallsBackAndEveryoneResumesTheirSeat() async throws {
        let directory = LiveServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try await LiveServer.start(dataDirectory: directory)
        let (s, d): (Setup, CallParticipant)
        do {
            (s, d) = try await Self.callWithChat(first)
        } catch {
            await first.stop()
            throw error
        }
        await first.stop()

        let second = try await LiveServer.start(dataDirectory: directory)
        do {
            // The deltaker first: the veileder's seat waits for them meanwhile.
            let back = try await CallParticipant.resume(d, port: second.port, tls: second.tlsConfiguration)
            #expect(back.participant == d.participant && back.role == "deltaker")
            let veileder = try await CallParticipant.resume(
                s.veileder, port: second.port, tls: second.tlsConfiguration, cookie: s.http.cookie)
            #expect(veileder.participant == s.veileder.participant && veileder.role == "veileder")
            back.announceKey()
            veileder.announceKey()
            for person in [back, veileder] {
                try await person.socket.expectRoster([veileder.participant, back.participant], withKeys: true)
            }
            // The chat is where it was, and goes on.
            let senders = [d.participant: d.keys.publicKey, s.veileder.participant: s.veileder.keys.publicKey]
            #expect(try await Self.history(back, from: senders) == ["Før omstarten"])
            try back.sendSignal(.media(video: true), to: veileder)
            #expect(try await veileder.socket.expect("signal", ignoring: ["roster", "key"]).string("from") == back.participant)
            // A resume token from before the restart works once, not twice.
            let replay = try await WSTestClient.connect(second)
            replay.send(["type": .string("hello"), "v": .int(2), "resume": .string(d.resume)])
            try await replay.expectError("invalid-token")
            #expect(try await second.auditEntries().contains { $0.event.action == .resume && $0.event.outcome == .allowed })
            await second.stop()
        } catch {
            await second.stop()
            throw error
        }
    }

    /// Two instances on one store (one data directory), with one clock.
    static func twoInstances(lease: TimeInterval = 10, clock: TestClock = TestClock()) async throws -> (LiveServer, LiveServer) {
        let directory = LiveServer.temporaryDirectory()
        let a = try await LiveServer.start(dataDirectory: directory, clock: clock) {
            $0.instanceName = "samrom-a"
            $0.homeLease = lease
        }
        do {
            let b = try await LiveServer.start(dataDirectory: directory, clock: clock) {
                $0.instanceName = "samrom-b"
                $0.homeLease = lease
            }
            return (a, b)
        } catch {
            await a.stop()
            a.removeData()
            throw error
        }
    }

    static func stop(_ servers: LiveServer...) async {
        for server in servers { await server.stop() }
        servers.first?.removeData()
    }

    @Test func aClientOfACallHomedElsewhereIsMovedThereAndTheLinksCarryTheRoute() async throws {
        let (a, b) = try await Self.twoInstances()
        do {
            let s = try await SignallingFlowTests.setUp(a)  // the veileder's hello makes samrom-a the home
            let created = try await s.http.request(.POST, "/api/consultations", body: #"{"title":"Andre"}"#)
            let joinUrl = try #require(created.string("joinUrl"))
            let id = try #require(created.string("id"))
            let route = RouteKey.of(ConsultationID(rawValue: id), secret: try await a.app.store.routeSecret()).rawValue
            #expect(joinUrl.contains("/j/?r=\(route)#"), "a join link names the route, never the id: \(joinUrl)")
            #expect(!joinUrl.contains(id))
            let listing = try await s.http.request(.GET, "/api/consultations")
            guard case .array(let listed)? = listing.json["consultations"] else { throw TestFailure("no list") }
            let routes = listed.compactMap { item -> String? in
                guard case .object(let c) = item, case .string(let route)? = c["route"] else { return nil }
                return route
            }
            #expect(routes.contains(route))

            // A deltaker who reaches samrom-b is sent to samrom-a, at once.
            let misrouted = try await WSTestClient.connect(b)
            misrouted.send(["type": .string("hello"), "v": .int(2), "token": .string(s.token)])
            let moved = try await misrouted.expect("moved")
            let sRoute = RouteKey.of(ConsultationID(rawValue: s.consultation), secret: try await b.app.store.routeSecret()).rawValue
            #expect(moved.string("instance") == "samrom-a" && moved.string("route") == sRoute && moved["retryAfterMs"] == .int(0))
            #expect(try await misrouted.closeCode() == .normalClosure)
            // Nothing about the call happened on samrom-b: no knock was logged.
            #expect(try await b.auditEntries().filter { $0.event.action == .knock }.isEmpty)
            // There, the call completes.
            let d = try await SignallingFlowTests.join(s, token: s.token, call: [s.veileder])
            try d.sendSignal(.media(video: false), to: s.veileder)
            #expect(try await s.veileder.socket.expect("signal", ignoring: ["roster", "key"]).string("from") == d.participant)
            // The overview served by samrom-b shows who is at the call on samrom-a.
            let waiting = try await SignallingFlowTests.knock(s, token: s.token)
            _ = try await s.veileder.socket.expect("knock", ignoring: ["roster", "key"])
            let overview = HTTPTestClient(b)
            try await overview.login("kari")
            let overviewList = try await overview.request(.GET, "/api/consultations")
            guard case .array(let items)? = overviewList.json["consultations"],
                let mine = items.compactMap({ item -> [String: JSONValue]? in
                    guard case .object(let c) = item, case .string(s.consultation)? = c["id"] else { return nil }
                    return c
                }).first
            else { throw TestFailure("the consultation is not listed") }
            #expect(mine["inCall"] == .int(2) && mine["waiting"] == .int(1), "\(mine)")
            waiting.socket.close()

            // Asking samrom-b for samrom-a (`i=`) means samrom-a could not be
            // reached: wait for its lease to run out.
            let again = try await WSTestClient.connect(port: b.port, tls: b.tlsConfiguration, path: "/ws?r=\(sRoute)&i=samrom-a")
            again.send(["type": .string("hello"), "v": .int(2), "token": .string(s.token)])
            let wait = try await again.expect("moved")
            let retry = try #require(wait["retryAfterMs"].flatMap { if case .int(let n) = $0 { n } else { nil } })
            #expect((1...10_250).contains(retry), "wait until samrom-a's lease ends, not \(retry) ms")
            await Self.stop(a, b)
        } catch {
            await Self.stop(a, b)
            throw error
        }
    }

    @Test func aSurvivorTakesTheCallOverOnceTheLeaseOfAGoneInstanceRunsOut() async throws {
        let clock = TestClock()
        let (a, b) = try await Self.twoInstances(lease: 10, clock: clock)
        do {
            let (s, d) = try await Self.callWithChat(a)
            // samrom-a goes away without giving its calls up (as a crash would).
            await a.stop()
            // Too early: the lease still holds, so samrom-b sends them back to samrom-a.
            let early = try await WSTestClient.connect(port: b.port, tls: b.tlsConfiguration, path: "/ws?i=samrom-a")
            early.send(["type": .string("hello"), "v": .int(2), "resume": .string(d.resume)])
            #expect(try await early.expect("moved").string("instance") == "samrom-a")
            clock.advance(by: 11)
            let back = try await CallParticipant.resume(d, port: b.port, tls: b.tlsConfiguration)
            #expect(back.participant == d.participant)
            let veileder = try await CallParticipant.resume(s.veileder, port: b.port, tls: b.tlsConfiguration, cookie: s.http.cookie)
            #expect(veileder.participant == s.veileder.participant)
            back.announceKey()
            veileder.announceKey()
            try await back.socket.expectRoster([veileder.participant, back.participant], withKeys: true)
            let senders = [d.participant: d.keys.publicKey, s.veileder.participant: s.veileder.keys.publicKey]
            #expect(try await Self.history(back, from: senders) == ["Før omstarten"])
            // samrom-b holds the home now: a newcomer at samrom-b is not moved.
            let other = HTTPTestClient(b)
            try await other.login("kari")
            let link = try await other.request(.POST, "/api/consultations/\(s.consultation)/links", body: #"{"role":"tolk"}"#)
            let token = String(try #require(link.string("joinUrl")?.split(separator: "#").last))
            let tolk = try await CallParticipant.knock(port: b.port, tls: b.tlsConfiguration, token: token, consultation: s.consultation)
            #expect(tolk.role == "tolk")
            await Self.stop(b, a)
        } catch {
            await Self.stop(b, a)
            throw error
        }
    }

    /// Issue 14, 5: the same resume token tried on two instances at once,
    /// just as the gone home's lease runs out: one takes the call over and
    /// lets the participant in; the other sends it there, or, if the token
    /// was already used by then, refuses it. Never two seats.
    @Test func aResumeTokenWorksOnceEvenOnTwoInstancesAtOnce() async throws {
        let clock = TestClock()
        let (a, b) = try await Self.twoInstances(lease: 10, clock: clock)
        let c = try await LiveServer.start(dataDirectory: a.dataDirectory, clock: clock) {
            $0.instanceName = "samrom-c"
            $0.homeLease = 10
        }
        do {
            let (_, d) = try await Self.callWithChat(a)
            await a.stop()
            clock.advance(by: 11)
            let sockets = [try await WSTestClient.connect(b), try await WSTestClient.connect(c)]
            for socket in sockets { socket.send(["type": .string("hello"), "v": .int(2), "resume": .string(d.resume)]) }
            var welcomed: [String] = []
            var turnedAway = 0
            for socket in sockets {
                let first = try await socket.next()
                switch (first.string("type"), first.string("code")) {
                case ("welcome", _): welcomed.append(first.object("you")?.string("participant") ?? "")
                case ("moved", _), ("error", "invalid-token"): turnedAway += 1
                default: Issue.record("unexpected answer: \(first)")
                }
            }
            #expect(welcomed == [d.participant] && turnedAway == 1, "one welcome (\(welcomed)), one turned away (\(turnedAway))")
            await Self.stop(b, c, a)
        } catch {
            await Self.stop(b, c, a)
            throw error
        }
    }

    /// Ending over HTTP on the instance that does not hold the call reaches
    /// the call's home (PostgreSQL LISTEN/NOTIFY; SQLite has no other instance).
    @Test(.enabled(if: TestStore.usesPostgres)) func endingOnAnotherInstanceEndsTheCallAtItsHome() async throws {
        let (a, b) = try await Self.twoInstances()
        do {
            let s = try await SignallingFlowTests.setUp(a)
            let d = try await SignallingFlowTests.join(s, token: s.token, call: [s.veileder])
            let other = HTTPTestClient(b)
            try await other.login("kari")
            let started = ContinuousClock.now
            let reply = try await other.request(.POST, "/api/consultations/\(s.consultation)/end")
            #expect(reply.status == 200)
            for person in [s.veileder, d] {
                _ = try await person.socket.expect("ended", ignoring: ["roster", "key"])
            }
            let elapsed = ContinuousClock.now - started
            #expect(elapsed < .seconds(1), "the call ended \(elapsed) after the request")
            await Self.stop(a, b)
        } catch {
            await Self.stop(a, b)
            throw error
        }
    }
}
