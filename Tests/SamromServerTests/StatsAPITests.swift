import Foundation
import NIOHTTP1
import SamromCore
@testable import SamromServer
import SamromTestSupport
import Testing

/// The anonymous figures from calls made for real through the signalling
/// server (so the audit entries are the hub's own, not scripted): a month
/// of six calls, one with a tolk, one sound only, and a booked time nobody
/// came to; read by the leder, by each veileder for themselves, refused
/// to everyone else, and every read logged.
@Suite struct StatsAPITests {
    /// 2026-11-10 09:00 UTC, 10.00 in Oslo.
    static let monday = Date(timeIntervalSince1970: 1_794_301_200)

    /// One call: the veileder opens, a deltaker (and a tolk) are let in,
    /// everyone announces a key, the veileder's page reports the media,
    /// `minutes` pass, everyone leaves.
    static func call(
        _ server: LiveServer, _ http: HTTPTestClient, minutes: Int, video: Bool, tolk: Bool = false
    ) async throws {
        let clock = server.clock
        let created = try await http.request(
            .POST, "/api/consultations", body: #"{"startsAt":"\#(AuditEntry.timestamp(clock.now.addingTimeInterval(300)))","minutes":30}"#)
        guard created.status == 201, let id = created.string("id"), let url = created.string("joinUrl") else {
            throw TestFailure("create failed: \(created.body)")
        }
        var tokens = [String(url.split(separator: "#").last!)]
        if tolk {
            let link = try await http.request(.POST, "/api/consultations/\(id)/links", body: #"{"role":"tolk"}"#)
            tokens.append(String(try #require(link.string("joinUrl")).split(separator: "#").last!))
        }
        let veileder = try await CallParticipant.veileder(port: server.port, tls: server.tlsConfiguration, cookie: http.cookie!, consultation: id)
        veileder.announceKey()
        var people = [veileder]
        for token in tokens {
            let person = try await CallParticipant.knock(port: server.port, tls: server.tlsConfiguration, token: token, consultation: id)
            _ = try await veileder.socket.expect("knock", ignoring: ["roster", "key"])
            veileder.socket.send(["type": .string("admit"), "participant": .string(person.participant)])
            _ = try await person.socket.expect("admitted")
            person.announceKey()
            people.append(person)
        }
        for person in people { _ = try await person.socket.expectRoster(people.map(\.participant), withKeys: true) }
        veileder.socket.send(["type": .string("call-media"), "video": .bool(video)])
        // The report is in the log before the clock moves on.
        try await waitUntil { try await server.auditEntries().contains { $0.event.action == .media && $0.event.consultation?.rawValue == id } }
        clock.advance(by: TimeInterval(minutes * 60))
        for person in people.reversed() {
            person.socket.send(["type": .string("leave")])
            _ = try await person.socket.closeCode()
        }
        try await waitUntil {
            try await server.auditEntries().filter { $0.event.action == .leave && $0.event.consultation?.rawValue == id }.count == people.count
        }
        clock.advance(by: 60)
    }

    static func waitUntil(_ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("timed out")
    }

    static func figures(_ reply: HTTPTestClient.Reply) -> [String: JSONValue] {
        guard case .array(let items)? = reply.json["figures"] else { return [:] }
        var found: [String: JSONValue] = [:]
        for case .object(let item) in items {
            if case .string(let key)? = item["key"] { found[key] = item["value"] ?? .null }
        }
        return found
    }

    @Test func aMonthOfRealCallsIsCountedAndProtected() async throws {
        let clock = TestClock(Self.monday)
        try await withServer(clock: clock) { server in
            try await server.addUser("kari", role: .veileder)
            try await server.addUser("ola", role: .veileder)
            try await server.addUser("leder", role: .leder)
            try await server.addUser("pvo", role: .privacyOfficer)
            let kari = HTTPTestClient(server)
            try await kari.login("kari")
            // Booked at 10.30 for 30 minutes; nobody ever comes.
            let noShow = try await kari.request(.POST, "/api/consultations", body: #"{"startsAt":"2026-11-10T10:30:00+01:00"}"#)
            #expect(noShow.status == 201)
            for (minutes, video, tolk) in [(20, true, false), (31, true, true), (25, true, false), (40, true, false), (22, true, false), (15, false, false)] {
                try await Self.call(server, kari, minutes: minutes, video: video, tolk: tolk)
            }
            #expect(clock.now > Date(timeIntervalSince1970: 1_794_303_000 + 1800), "the no-show's time has passed")

            let leder = HTTPTestClient(server)
            try await leder.login("leder")
            let centre = try await leder.request(.GET, "/api/stats?month=2026-11")
            #expect(centre.status == 200, "\(centre.body)")
            #expect(centre.string("scope") == "centre" && centre.string("month") == "2026-11")
            let figures = Self.figures(centre)
            #expect(figures["booked"] == .int(7), "\(centre.body)")
            #expect(figures["held"] == .int(6))
            // One sound-only call is "under 5"; the video count would give it away, so it is withheld.
            #expect(figures["soundOnly"] == .string("under 5"))
            #expect(figures["video"] == .null)
            #expect(figures["withTolk"] == .string("under 5"))
            #expect(figures["groupCalls"] == .int(0))
            #expect(figures["noShows"] == .string("under 5"))
            // Lengths 15, 20, 22, 25, 31, 40 minutes (each call ends a minute before the next begins): the median is 23.5 → 24.
            #expect(figures["medianMinutes"] == .int(24) || figures["medianMinutes"] == .int(23), "\(centre.body)")
            #expect(!centre.body.contains("kari"))

            let csv = try await leder.request(.GET, "/api/stats?month=2026-11&format=csv&lang=en")
            #expect(csv.status == 200 && csv.headers.first(name: "Content-Type") == "text/csv; charset=utf-8")
            #expect(csv.body.hasPrefix("month,figure,value,description\r\n2026-11,booked,7,"), "\(csv.body)")
            #expect(csv.body.contains("2026-11,soundOnly,under 5,"))

            // Each veileder sees only their own; ola has none.
            let own = try await kari.request(.GET, "/api/stats?month=2026-11")
            #expect(own.string("scope") == "veileder" && Self.figures(own)["held"] == .int(6))
            let ola = HTTPTestClient(server)
            try await ola.login("ola")
            let none = try await ola.request(.GET, "/api/stats?month=2026-11")
            #expect(Self.figures(none)["held"] == .int(0) && Self.figures(none)["booked"] == .int(0))
            // Another month is empty.
            #expect(Self.figures(try await leder.request(.GET, "/api/stats?month=2026-10"))["held"] == .int(0))

            // Nobody else reads them; a bad month or format is answered.
            let officer = HTTPTestClient(server)
            try await officer.login("pvo")
            #expect(try await officer.request(.GET, "/api/stats?month=2026-11").status == 403)
            #expect(try await HTTPTestClient(server).request(.GET, "/api/stats?month=2026-11").status == 401)
            for query in ["", "?month=2026-13", "?month=26-11", "?month=2026-11&format=xml", "?month=2026-11&lang=de"] {
                let bad = try await leder.request(.GET, "/api/stats\(query)")
                #expect(bad.status == 400 && bad.errorCode == "bad-field", "\(query): \(bad.body)")
            }
            // The leder may not open a consultation either.
            #expect(try await leder.request(.POST, "/api/consultations", body: "{}").status == 403)

            let refusals = try await server.auditEntries().filter { $0.event.action == .statsRead && $0.event.outcome == .denied }
            #expect(refusals.count == 1, "the personvernombud's attempt")
            let reads = try await server.auditEntries().filter { $0.event.action == .statsRead && $0.event.outcome == .allowed }
            #expect(reads.count == 5, "every read, and only the reads that were answered: \(reads.map(\.event.reason))")
            #expect(reads.first?.event.reason == "read the anonymous figures for 2026-11 (the centre)")
        }
    }
}
