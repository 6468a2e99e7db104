import Foundation
import NIOHTTP1
import NIOWebSocket
import SamromCore
import SamromServer
import SamromTestSupport
import Testing

/// Log in, log out, `/api/me`, the throttle and the headers on every answer.
@Suite struct SessionAPITests {
    @Test func loginSetsAStrictCookieAndLogoutEndsTheSession() async throws {
        try await withServer { server in
            try await server.addUser("kari", role: .veileder)
            let http = HTTPTestClient(server)
            #expect(try await http.request(.GET, "/api/me").errorCode == "unauthenticated")

            let login = try await http.login("kari")
            #expect(login.status == 204)
            let cookie = try #require(login.headers.first(name: "Set-Cookie"))
            #expect(cookie.hasPrefix("samrom_session="))
            for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
                #expect(cookie.contains(attribute), "cookie lacks \(attribute)")
            }
            #expect(!cookie.contains("Domain"))

            let me = try await http.request(.GET, "/api/me")
            #expect(me.status == 200)
            #expect(me.string("username") == "kari")
            #expect(me.string("role") == "veileder")

            // The token is stored only as a hash: the cookie value is nowhere on disk.
            let token = try #require(http.cookie?.split(separator: "=").last.map(String.init))
            #expect(!(try dataDirectoryContains(server, token)))

            let logout = try await http.request(.DELETE, "/api/session")
            #expect(logout.status == 204)
            #expect(logout.headers.first(name: "Set-Cookie")?.contains("Max-Age=0") == true)
            // The old cookie is dead server-side, not just forgotten by the browser.
            #expect(try await http.request(.GET, "/api/me").status == 401)
            let actions = try await server.auditEntries().map(\.event.action)
            #expect(actions.contains(.login) && actions.contains(.logout))
        }
    }

    @Test func wrongPasswordAndUnknownUserGetTheSameAnswer() async throws {
        try await withServer { server in
            try await server.addUser("kari", role: .veileder)
            let http = HTTPTestClient(server)
            let wrong = try await http.login("kari", "not the password")
            let unknown = try await http.login("nobody", "not the password")
            #expect(wrong.status == 401 && unknown.status == 401)
            #expect(wrong.body == unknown.body)
            #expect(wrong.errorCode == "invalid-credentials")
            #expect(http.cookie == nil)
            // Both are logged as denied, without the password.
            let denied = try await server.auditEntries().filter { $0.event.action == .login && $0.event.outcome == .denied }
            #expect(denied.count == 2)
            let text = try await server.auditEntries().map { String(decoding: $0.canonicalBytes(), as: UTF8.self) }.joined()
            #expect(!text.contains("not the password"))
        }
    }

    @Test func aDisabledAccountCannotLogInAndItsSessionsEnd() async throws {
        try await withServer { server in
            try await server.addUser("kari", role: .veileder)
            let http = HTTPTestClient(server)
            try await http.login("kari")
            #expect(try await server.app.accounts.disable(username: "kari"))
            #expect(try await http.request(.GET, "/api/me").status == 401)
            #expect(try await HTTPTestClient(server).login("kari").errorCode == "invalid-credentials")
        }
    }

    @Test func repeatedFailuresAreSlowedPerAccountAndPerAddress() async throws {
        var policy = LoginThrottle.Policy()
        policy.freeFailures = 2
        policy.baseDelay = 60
        try await withServer({ $0.loginThrottle = policy }) { server in
            try await server.addUser("kari", role: .veileder)
            let http = HTTPTestClient(server)
            for _ in 0..<2 { #expect(try await http.login("kari", "guess").status == 401) }
            let blocked = try await http.login("kari", "guess")
            #expect(blocked.status == 429)
            #expect(blocked.errorCode == "too-many-attempts")
            let retryAfter = try #require(blocked.headers.first(name: "Retry-After").flatMap(Int.init))
            #expect(retryAfter > 0 && retryAfter <= 120)
            // Even the right password waits: the throttle does not reveal it.
            #expect(try await http.login("kari").status == 429)
            // The same address trying another name is slowed too, whether or not it exists.
            #expect(try await http.login("nobody", "guess").status == 429)
            server.clock.advance(by: 3600)
            #expect(try await http.login("kari").status == 204)
        }
    }

    /// Issue 13, 2: 40 wrong passwords sent at once for one user got 21 real
    /// Argon2id checks; each attempt now counts before its check, so five do.
    @Test func parallelLoginsCannotSlipPastTheThrottle() async throws {
        try await withServer { server in
            try await server.addUser("kari", role: .veileder)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<40 {
                    group.addTask { Int(try await HTTPTestClient(server).login("kari", "a wrong guess").status) }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            let checked = statuses.filter { $0 == 401 }.count
            #expect(checked == LoginThrottle.Policy().freeFailures, "\(statuses.sorted())")
            #expect(statuses.allSatisfy { [401, 429, 503].contains($0) }, "\(statuses.sorted())")
            // The refusals are summed in the log, not one entry each.
            try await server.app.auditor.flushRefusals(all: true)
            let refused = try await server.auditEntries().filter { $0.event.action == .login && $0.event.actor.kind == .anonymous }
            #expect(refused.count <= 4, "\(refused.map(\.event.reason))")
            #expect(refused.contains { $0.event.reason.hasPrefix("\(40 - checked - 1) more refused attempts") })
        }
    }

    /// Argon2id runs on its own bounded threads: past the queue, "busy".
    @Test func passwordChecksBeyondTheQueueAreAnsweredBusy() async throws {
        try await withServer({ $0.passwordWorkers = 1; $0.passwordQueueLimit = 0; $0.loginThrottle.freeFailures = 1000 }) { server in
            try await server.addUser("kari", role: .veileder)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<12 {
                    group.addTask { Int(try await HTTPTestClient(server).login("user\(i)", "a wrong guess").status) }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.contains(503), "\(statuses.sorted())")
            #expect(statuses.contains(401), "\(statuses.sorted())")
            #expect(statuses.allSatisfy { [401, 503].contains($0) })
            // And it frees up: one at a time is checked.
            #expect(try await HTTPTestClient(server).login("kari").status == 204)
        }
    }

    /// Issue 13, 6: the veileder's page polls its list every 5 s; each poll
    /// was an audit entry and kept the session alive for ever. Polls marked
    /// as the page's own are neither, so the idle timeout is reached.
    @Test func thePagesOwnPollingIsNotActivityAndNotLogged() async throws {
        try await withServer({ $0.sessionIdleTimeout = 600 }) { server in
            try await server.addUser("kari", role: .veileder)
            let polling = HTTPTestClient(server)
            let working = HTTPTestClient(server)
            #expect(try await polling.login("kari").status == 204)
            #expect(try await working.login("kari").status == 204)
            let before = try await server.auditEntries().count
            for _ in 0..<3 {
                server.clock.advance(by: 180)
                #expect(try await working.request(.GET, "/api/consultations").status == 200)
                #expect(try await polling.request(.GET, "/api/consultations", headers: [("X-Samrom-Background", "1")]).status == 200)
            }
            // 720 s after its login, the polling page's session has run out; the working one lives.
            server.clock.advance(by: 180)
            #expect(try await polling.request(.GET, "/api/consultations", headers: [("X-Samrom-Background", "1")]).status == 401)
            #expect(try await working.request(.GET, "/api/consultations").status == 200)
            // Reading one's own list writes nothing to the log.
            #expect(try await server.auditEntries().count == before)
        }
    }

    @Test func malformedAndOversizedLoginBodiesAreAnswered() async throws {
        try await withServer { server in
            let http = HTTPTestClient(server)
            #expect(try await http.request(.POST, "/api/session", body: "{").errorCode == "bad-request")
            #expect(try await http.request(.POST, "/api/session", body: "[]").errorCode == "bad-request")
            #expect(try await http.request(.POST, "/api/session", body: #"{"username":"x"}"#).errorCode == "bad-field")
            #expect(try await http.request(.POST, "/api/session", body: #"{"username":1,"password":"x"}"#).errorCode == "bad-field")
            let huge = #"{"username":"x","password":""# + String(repeating: "p", count: 64 * 1024) + #""}"#
            let tooLarge = try await http.request(.POST, "/api/session", body: huge)
            #expect(tooLarge.status == 413)
            #expect(tooLarge.errorCode == "too-large")
            #expect(try await http.request(.GET, "/healthz").status == 200)
        }
    }

    @Test func crossOriginStateChangesAreRefused() async throws {
        try await withServer { server in
            try await server.addUser("kari", role: .veileder)
            let http = HTTPTestClient(server)
            try await http.login("kari")
            for headers in [
                [("Origin", "https://evil.example")],
                [("Origin", "null")],
                [("Origin", "https://localhost:\(server.port)"), ("Origin", "https://evil.example")],
                [("Sec-Fetch-Site", "cross-site")],
            ] {
                let reply = try await http.request(.POST, "/api/consultations", body: "{}", headers: headers)
                #expect(reply.status == 403, "\(headers)")
                #expect(reply.errorCode == "cross-origin")
            }
            let own = try await http.request(
                .POST, "/api/consultations", body: "{}",
                headers: [("Origin", "https://127.0.0.1:\(server.port)"), ("Sec-Fetch-Site", "same-origin")])
            #expect(own.status == 201)
        }
    }

    /// Issue 13, 8: audit reads record a purpose, so a page elsewhere must
    /// not make a personvernombud's browser do one; and nothing from the API
    /// is cached.
    @Test func apiReadsFromAnotherSiteAreRefusedAndNothingIsCached() async throws {
        try await withServer { server in
            try await server.addUser("pvo", role: .privacyOfficer)
            let http = HTTPTestClient(server)
            try await http.login("pvo")
            let before = try await server.auditEntries().count
            for path in ["/api/audit?purpose=x", "/api/audit/export?purpose=x", "/api/me"] {
                for headers in [[("Sec-Fetch-Site", "cross-site")], [("Sec-Fetch-Site", "same-site")], [("Origin", "https://evil.example")]] {
                    let reply = try await http.request(.GET, path, headers: headers)
                    #expect(reply.status == 403, "\(path) \(headers)")
                    #expect(reply.headers.first(name: "Cache-Control") == "no-store")
                }
            }
            // Nothing was read, so nothing was logged as read.
            #expect(try await server.auditEntries().count == before)
            for path in ["/api/audit?purpose=x", "/api/me", "/api/audit/public-key", "/api/nothing-here"] {
                let reply = try await http.request(.GET, path, headers: [("Sec-Fetch-Site", "same-origin")])
                #expect(reply.headers.first(name: "Cache-Control") == "no-store", "\(path)")
            }
            // A link followed from an e-mail or SMS still opens the pages.
            #expect(try await http.request(.GET, "/", headers: [("Sec-Fetch-Site", "cross-site")]).status == 200)
        }
    }

    @Test func everyResponseCarriesTheSecurityHeaders() async throws {
        try await withServer { server in
            let http = HTTPTestClient(server)
            for path in ["/", "/j/", "/api/me", "/healthz", "/no/such/file"] {
                let reply = try await http.request(.GET, path)
                let csp = try #require(reply.headers.first(name: "Content-Security-Policy"), "no CSP on \(path)")
                for directive in ["default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "frame-ancestors 'none'"] {
                    #expect(csp.contains(directive), "\(path): CSP lacks \(directive)")
                }
                #expect(!csp.contains("unsafe-inline"))
                #expect(reply.headers.first(name: "Strict-Transport-Security")?.contains("max-age=") == true)
                #expect(reply.headers.first(name: "Referrer-Policy") == "no-referrer")
                #expect(reply.headers.first(name: "X-Content-Type-Options") == "nosniff")
                let permissions = try #require(reply.headers.first(name: "Permissions-Policy"))
                #expect(permissions.contains("camera=(self)") && permissions.contains("microphone=(self)"))
            }
            #expect(try await http.request(.GET, "/").body.contains("lang=\"nb\""))
        }
    }
}

/// Whether any file in the server's data directory (database, WAL, keys)
/// contains `needle`.
func dataDirectoryContains(_ server: LiveServer, _ needle: String) throws -> Bool {
    let bytes = Array(needle.utf8)
    let files = FileManager.default.enumerator(at: server.dataDirectory, includingPropertiesForKeys: nil)
    while let url = files?.nextObject() as? URL {
        guard let data = FileManager.default.contents(atPath: url.path) else { continue }
        if data.range(of: Data(bytes)) != nil { return true }
    }
    return false
}
