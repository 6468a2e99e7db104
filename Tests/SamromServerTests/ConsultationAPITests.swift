import Foundation
import NIOHTTP1
import NIOWebSocket
import SamromCore
import SamromServer
import SamromTestSupport
import Testing

/// Create, list, new link and end, with every refusal.
@Suite struct ConsultationAPITests {
    static func veileder(_ server: LiveServer, _ name: String = "kari") async throws -> HTTPTestClient {
        try await server.addUser(name, role: .veileder)
        let http = HTTPTestClient(server)
        try await http.login(name)
        return http
    }

    @Test func createListNewLinkAndEnd() async throws {
        let clock = TestClock()
        try await withServer(clock: clock) { server in
            let http = try await Self.veileder(server)
            let created = try await http.request(.POST, "/api/consultations", body: #"{"title":"Oppstart, uke 1"}"#)
            #expect(created.status == 201)
            #expect(created.headers.first(name: "Cache-Control") == "no-store")
            let id = try #require(created.string("id"))
            let joinUrl = try #require(created.string("joinUrl"))
            #expect(joinUrl.hasPrefix("https://127.0.0.1:\(server.port)/j/#"))
            let token = String(joinUrl.split(separator: "#").last!)
            #expect(token.count == 43)
            #expect(JoinToken.parse(token) != nil)
            // Default validity: 14 days.
            let expiresAt = try #require(created.string("expiresAt").flatMap(Self.date))
            #expect(abs(expiresAt.timeIntervalSince(clock.now) - 14 * 86_400) < 1)

            // The token is stored only as its hash.
            #expect(!(try dataDirectoryContains(server, token)))

            let list = try await http.request(.GET, "/api/consultations")
            guard case .array(let items)? = list.json["consultations"], case .object(let first)? = items.first else {
                Issue.record("no list: \(list.body)")
                return
            }
            #expect(items.count == 1)
            #expect(first["id"] == .string(id))
            #expect(first["title"] == .string("Oppstart, uke 1"))
            #expect(first["status"] == .string("active"))
            #expect(first["waiting"] == .int(0))
            #expect(!list.body.contains(token))

            let renewed = try await http.request(.POST, "/api/consultations/\(id)/link")
            #expect(renewed.status == 200)
            #expect(renewed.string("joinUrl") != joinUrl)

            let ended = try await http.request(.POST, "/api/consultations/\(id)/end")
            #expect(ended.status == 200)
            #expect(ended.string("status") == "ended")
            let again = try await http.request(.POST, "/api/consultations/\(id)/link")
            #expect(again.status == 409)
            #expect(again.errorCode == "ended")
            // Ending twice is harmless (a retried request), and logged once.
            #expect(try await http.request(.POST, "/api/consultations/\(id)/end").status == 200)

            let actions = try await server.auditEntries().map(\.event.action)
            for action: AuditAction in [.consultationCreate, .consultationNewLink, .consultationEnd] {
                #expect(actions.contains(action), "missing \(action.rawValue)")
            }
            #expect(actions.filter { $0 == .consultationEnd }.count == 1)
        }
    }

    @Test func validityIsBetweenOneAndEightyFourDays() async throws {
        let clock = TestClock()
        try await withServer(clock: clock) { server in
            let http = try await Self.veileder(server)
            for days in [0, -1, 85, 10_000] {
                let reply = try await http.request(.POST, "/api/consultations", body: #"{"validForDays":\#(days)}"#)
                #expect(reply.status == 400, "validForDays \(days)")
                #expect(reply.errorCode == "bad-field")
            }
            let longest = try await http.request(.POST, "/api/consultations", body: #"{"validForDays":84}"#)
            #expect(longest.status == 201)
            let expiresAt = try #require(longest.string("expiresAt").flatMap(Self.date))
            #expect(abs(expiresAt.timeIntervalSince(clock.now) - 84 * 86_400) < 1)
        }
    }

    @Test func badBodiesAreAnsweredAndNothingIsCreated() async throws {
        try await withServer { server in
            let http = try await Self.veileder(server)
            let cases: [(String, Int, String)] = [
                ("{", 400, "bad-request"),
                ("null", 400, "bad-request"),
                (#"{"title":42}"#, 400, "bad-field"),
                (#"{"validForDays":"14"}"#, 400, "bad-field"),
                (#"{"validForDays":1.5}"#, 400, "bad-field"),
                (#"{"title":"\#(String(repeating: "x", count: 121))"}"#, 400, "bad-field"),
                (#"{"title":"a\u0000b"}"#, 400, "bad-field"),
                (#"{"title":"\#(String(repeating: "x", count: 20_000))"}"#, 413, "too-large"),
            ]
            for (body, status, code) in cases {
                let reply = try await http.request(.POST, "/api/consultations", body: body)
                #expect(reply.status == status, "\(body.prefix(40))")
                #expect(reply.errorCode == code, "\(body.prefix(40))")
            }
            let list = try await http.request(.GET, "/api/consultations")
            #expect(list.json["consultations"] == .array([]))
        }
    }

    @Test func onlyAVeilederSeesAndOnlyTheirOwn() async throws {
        try await withServer { server in
            let anne = try await Self.veileder(server, "anne")
            let bjorn = try await Self.veileder(server, "bjorn")
            let (id, _) = try await anne.createConsultation()

            // Bjørn cannot see, renew or end Anne's consultation: it does not exist for him.
            #expect(try await bjorn.request(.GET, "/api/consultations").json["consultations"] == .array([]))
            for path in ["/api/consultations/\(id)/link", "/api/consultations/\(id)/end", "/api/consultations/not-an-id/end"] {
                let reply = try await bjorn.request(.POST, path)
                #expect(reply.status == 404, "\(path)")
                #expect(reply.errorCode == "not-found")
            }
            #expect(try await server.auditEntries().contains {
                $0.event.action == .consultationEnd && $0.event.outcome == .denied
            })

            // A personvernombud has no business with consultations.
            try await server.addUser("pvo", role: .privacyOfficer)
            let pvo = HTTPTestClient(server)
            try await pvo.login("pvo")
            #expect(try await pvo.request(.GET, "/api/consultations").status == 403)
            #expect(try await pvo.request(.POST, "/api/consultations", body: "{}").errorCode == "forbidden")

            // And without a session, nothing.
            let anonymous = HTTPTestClient(server)
            #expect(try await anonymous.request(.GET, "/api/consultations").status == 401)
            #expect(try await anonymous.request(.POST, "/api/consultations", body: "{}").status == 401)
        }
    }

    @Test func endingOverHTTPTellsEveryoneInTheRoom() async throws {
        try await withServer { server in
            let s = try await SignallingFlowTests.setUp(server)
            let inCall = try await SignallingFlowTests.join(s, token: s.token, call: [s.veileder])
            let waiting = try await SignallingFlowTests.knock(s, token: s.token)
            try await s.veileder.socket.expect("knock", ignoring: ["roster", "key"])
            #expect(try await s.http.request(.POST, "/api/consultations/\(s.consultation)/end").status == 200)
            for person in [waiting, inCall, s.veileder] {
                try await person.socket.expect("ended", ignoring: ["roster", "key"])
                #expect(try await person.socket.closeCode() == .normalClosure)
            }
        }
    }

    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}
