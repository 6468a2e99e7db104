import Foundation
import NIOHTTP1
import SamromCore
@testable import SamromServer
import SamromStore
import SamromTestSupport
import Sodium
import Testing

/// TOTP as a second factor, over real HTTPS: enrolment from one's own page,
/// the login's second step, recovery codes, `--require-second-factor`, the
/// administrator's reset, and every wrong turn refused with nothing half
/// logged in. The clock is the test's: a 30-second step is one `advance`.
@Suite struct SecondFactorLoginTests {
    /// Logs in, enrols and confirms; the secret and the recovery codes.
    static func enrol(_ server: LiveServer, _ username: String = "kari") async throws -> (TOTPSecret, [String]) {
        let http = HTTPTestClient(server)
        #expect(try await http.login(username).status == 204)
        let started = try await http.request(.POST, "/api/me/totp")
        #expect(started.status == 200)
        let secret = try Self.secret(started)
        let confirmed = try await http.request(.POST, "/api/me/totp/confirm", body: #"{"code":"\#(code(secret, server))"}"#)
        #expect(confirmed.status == 200, "\(confirmed.body)")
        guard case .array(let codes)? = confirmed.json["recoveryCodes"] else { throw TestFailure("no recovery codes: \(confirmed.body)") }
        // The confirming code's step is used: later codes come from the next step.
        server.clock.advance(by: TOTP.period)
        return (secret, codes.compactMap { if case .string(let code) = $0 { code } else { nil } })
    }

    /// The secret in a `POST /api/me/totp` answer.
    static func secret(_ reply: HTTPTestClient.Reply) throws -> TOTPSecret {
        guard let text = reply.string("secret"), let bytes = Base32.decode(text) else { throw TestFailure("no secret: \(reply.body)") }
        return try TOTPSecret(SecureBytes(bytes))
    }

    /// The code an authenticator app shows now (by the server's clock).
    static func code(_ secret: TOTPSecret, _ server: LiveServer) -> String {
        TOTPGenerator.digits(secret, step: TOTP.step(at: server.clock.now))
    }

    static func secondStep(_ http: HTTPTestClient, _ code: String) async throws -> HTTPTestClient.Reply {
        let reply = try await http.request(.POST, "/api/session/second-factor", body: #"{"code":"\#(code)"}"#)
        http.keepCookies(reply)
        return reply
    }

    @Test func enrolThenLogInWithACodeThatWorksOnce() async throws {
        try await withServer({ $0.totpIssuer = "Frisklivssentralen Testby" }) { server in
            try await server.addUser("kari", role: .veileder)
            let http = HTTPTestClient(server)
            try await http.login("kari")
            #expect(try await http.request(.GET, "/api/me").json["secondFactor"] == .bool(false))
            let started = try await http.request(.POST, "/api/me/totp")
            #expect(started.status == 200)
            #expect(started.headers.first(name: "Cache-Control") == "no-store")
            let secretText = try #require(started.string("secret"))
            #expect(secretText.count == 32)
            let qr = try #require(started.string("qrSvg"))
            #expect(qr.hasPrefix("<svg ") && qr.contains("<path") && !qr.contains("<script"))
            #expect(
                started.string("otpauthUrl")
                    == "otpauth://totp/Frisklivssentralen%20Testby:kari?secret=\(secretText)&issuer=Frisklivssentralen%20Testby"
                    + "&algorithm=SHA1&digits=6&period=30")
            let secret = try TOTPSecret(SecureBytes(try #require(Base32.decode(secretText))))

            // A wrong first code confirms nothing.
            let wrong = try await http.request(.POST, "/api/me/totp/confirm", body: #"{"code":"000000"}"#)
            #expect(wrong.status == 401 && wrong.errorCode == "wrong-code")
            #expect(try await http.request(.GET, "/api/me").json["secondFactor"] == .bool(false))

            let code = Self.code(secret, server)
            let confirmed = try await http.request(.POST, "/api/me/totp/confirm", body: #"{"code":"\#(code)"}"#)
            #expect(confirmed.status == 200)
            #expect(confirmed.headers.first(name: "Cache-Control") == "no-store")
            guard case .array(let codes)? = confirmed.json["recoveryCodes"] else { throw TestFailure(confirmed.body) }
            #expect(codes.count == 10 && Set(codes.map { "\($0)" }).count == 10)
            for case .string(let recovery) in codes { #expect(recovery.wholeMatch(of: /[a-z2-7]{4}(-[a-z2-7]{4}){3}/) != nil) }
            #expect(try await http.request(.GET, "/api/me").json["secondFactor"] == .bool(true))
            // Set up once; a second start is refused.
            #expect(try await http.request(.POST, "/api/me/totp").errorCode == "second-factor-enrolled")

            // A password now leads to the second step, and to nothing else.
            let next = HTTPTestClient(server)
            let login = try await next.login("kari")
            #expect(login.status == 202 && login.string("next") == "second-factor")
            #expect(next.cookie == nil)
            let pending = try #require(login.headers.first(name: "Set-Cookie"))
            #expect(pending.hasPrefix("samrom_pending="))
            for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api", "Max-Age=300"] {
                #expect(pending.contains(attribute), "pending cookie lacks \(attribute)")
            }
            #expect(try await next.request(.GET, "/api/me").status == 401)
            #expect(try await next.request(.POST, "/api/consultations", body: "{}").status == 401)

            // The code that confirmed the enrolment was used: its step is spent.
            let replayed = try await Self.secondStep(next, code)
            #expect(replayed.status == 401 && replayed.errorCode == "invalid-second-factor")
            server.clock.advance(by: TOTP.period)
            let fresh = Self.code(secret, server)
            let done = try await Self.secondStep(next, fresh)
            #expect(done.status == 204)
            #expect(next.cookie != nil && next.pendingCookie == nil)
            #expect(try await next.request(.GET, "/api/me").string("username") == "kari")
            // The pending login is gone with it.
            #expect(try await next.request(.POST, "/api/session/second-factor", body: #"{"code":"\#(fresh)"}"#).status == 401)

            // The same code on another login, a second later: refused.
            let other = HTTPTestClient(server)
            #expect(try await other.login("kari").status == 202)
            #expect(try await Self.secondStep(other, fresh).errorCode == "invalid-second-factor")
            #expect(other.cookie == nil)

            let entries = try await server.auditEntries()
            let actions = entries.map(\.event.action)
            for action in [AuditAction.secondFactorEnrol, .secondFactorConfirm, .loginPending] { #expect(actions.contains(action), "\(action)") }
            let reasons = entries.filter { $0.event.action == .login }.map { "\($0.event.outcome.rawValue): \($0.event.reason ?? "")" }
            #expect(reasons.contains("allowed: password and TOTP"))
            #expect(reasons.filter { $0 == "denied: TOTP code used already" }.count == 2)
            #expect(entries.contains { $0.event.action == .secondFactorConfirm && $0.event.outcome == .denied })
            // Neither the secret nor a code is written anywhere.
            let text = entries.map { String(decoding: $0.canonicalBytes(), as: UTF8.self) }.joined()
            #expect(!text.contains(secretText) && !text.contains(fresh))
            #expect(!(try dataDirectoryContains(server, secretText)))
        }
    }

    @Test func aRecoveryCodeWorksOnceInAnyCase() async throws {
        try await withServer { server in
            try await server.addUser("kari", role: .veileder)
            let (_, codes) = try await Self.enrol(server)
            let http = HTTPTestClient(server)
            #expect(try await http.login("kari").status == 202)
            let typed = codes[3].uppercased().replacingOccurrences(of: "-", with: " ")
            #expect(try await Self.secondStep(http, typed).status == 204)
            #expect(try await http.request(.GET, "/api/me").status == 200)

            let again = HTTPTestClient(server)
            #expect(try await again.login("kari").status == 202)
            #expect(try await Self.secondStep(again, codes[3]).errorCode == "invalid-second-factor")
            #expect(try await Self.secondStep(again, codes[4]).status == 204)
            let reasons = try await server.auditEntries().filter { $0.event.action == .login }.compactMap(\.event.reason)
            #expect(reasons.contains("password and recovery code (9 left)"))
            #expect(reasons.contains("recovery code used already"))
            #expect(reasons.contains("password and recovery code (8 left)"))
        }
    }

    @Test func aPendingLoginHasFewTriesAndMinutes() async throws {
        // The throttle (tested below) out of the way: this is the pending login's own limit.
        try await withServer({ $0.loginThrottle.freeFailures = 100 }) { server in
            try await server.addUser("kari", role: .veileder)
            let (secret, _) = try await Self.enrol(server)
            // Five wrong codes use it up; the right one is then too late.
            let http = HTTPTestClient(server)
            #expect(try await http.login("kari").status == 202)
            for wrong in ["000000", "111111", "not a code", "222 222", "abcd-efgh-ijkl-mnop"] {
                #expect(try await Self.secondStep(http, wrong).errorCode == "invalid-second-factor", "\(wrong)")
            }
            let late = try await Self.secondStep(http, Self.code(secret, server))
            #expect(late.status == 401 && late.errorCode == "login-expired")
            #expect(http.cookie == nil)

            // Five minutes, then gone.
            server.clock.advance(by: TOTP.period)
            let slow = HTTPTestClient(server)
            #expect(try await slow.login("kari").status == 202)
            server.clock.advance(by: 301)
            #expect(try await Self.secondStep(slow, Self.code(secret, server)).errorCode == "login-expired")
            #expect(slow.cookie == nil)
            // Swept by housekeeping.
            #expect(try await server.app.store.deleteExpiredPendingLogins(now: server.clock.now) >= 1)
        }
    }

    @Test func theSecondStepIsThrottledWithThePassword() async throws {
        var policy = LoginThrottle.Policy()
        policy.freeFailures = 2
        policy.baseDelay = 60
        try await withServer({ $0.loginThrottle = policy }) { server in
            try await server.addUser("kari", role: .veileder)
            let (secret, _) = try await Self.enrol(server)
            let http = HTTPTestClient(server)
            // The right password counts until its second step succeeds.
            #expect(try await http.login("kari").status == 202)
            #expect(try await Self.secondStep(http, "000000").errorCode == "invalid-second-factor")
            let throttled = try await Self.secondStep(http, Self.code(secret, server))
            #expect(throttled.status == 429 && throttled.headers.first(name: "Retry-After") != nil)
            // A fresh password login does not buy fresh tries.
            #expect(try await HTTPTestClient(server).login("kari").status == 429)
            server.clock.advance(by: 3600)
            let later = HTTPTestClient(server)
            #expect(try await later.login("kari").status == 202)
            #expect(try await Self.secondStep(later, Self.code(secret, server)).status == 204)
        }
    }

    @Test func requiredSecondFactorIsSetUpAtTheFirstLogin() async throws {
        try await withServer({ $0.secondFactor.required = true }) { server in
            try await server.addUser("kari", role: .veileder)
            let http = HTTPTestClient(server)
            let login = try await http.login("kari")
            #expect(login.status == 202 && login.string("next") == "enrol-second-factor")
            #expect(http.cookie == nil)
            // The pending cookie sets up a second factor and does nothing else.
            #expect(try await http.request(.GET, "/api/me").status == 401)
            #expect(try await http.request(.GET, "/api/consultations").status == 401)
            #expect(try await Self.secondStep(http, "123456").errorCode == "login-expired")
            let started = try await http.request(.POST, "/api/me/totp")
            #expect(started.status == 200)
            let secret = try Self.secret(started)
            let wrong = try await http.request(.POST, "/api/me/totp/confirm", body: #"{"code":"000000"}"#)
            #expect(wrong.errorCode == "wrong-code")
            let confirmed = try await http.request(.POST, "/api/me/totp/confirm", body: #"{"code":"\#(Self.code(secret, server))"}"#)
            #expect(confirmed.status == 200)
            http.keepCookies(confirmed)
            #expect(http.cookie != nil && http.pendingCookie == nil)
            #expect(try await http.request(.GET, "/api/me").json["secondFactor"] == .bool(true))

            server.clock.advance(by: TOTP.period)
            let next = HTTPTestClient(server)
            #expect(try await next.login("kari").string("next") == "second-factor")
            #expect(try await Self.secondStep(next, Self.code(secret, server)).status == 204)
        }
    }

    @Test func anAdministratorsResetEndsSessionsAndTheFactor() async throws {
        try await withServer { server in
            try await server.addUser("kari", role: .veileder)
            _ = try await Self.enrol(server)
            let http = HTTPTestClient(server)
            #expect(try await http.login("kari").status == 202)
            #expect(try await server.app.accounts.secondFactors.reset(username: "KARI"))
            #expect(!(try await server.app.accounts.secondFactors.reset(username: "kari")))
            #expect(!(try await server.app.accounts.secondFactors.reset(username: "nobody")))
            // The pending login ended with it; a password alone logs in again.
            #expect(try await Self.secondStep(http, "123456").errorCode == "login-expired")
            #expect(try await HTTPTestClient(server).login("kari").status == 204)
            let reset = try await server.auditEntries().filter { $0.event.action == .secondFactorReset }
            #expect(reset.count == 1 && reset[0].event.actor.kind == .system)
        }
    }

    @Test func badRequestsAreAnsweredAndLogNoOneIn() async throws {
        try await withServer { server in
            try await server.addUser("kari", role: .veileder)
            let http = HTTPTestClient(server)
            #expect(try await http.request(.POST, "/api/session/second-factor", body: #"{"code":"123456"}"#).errorCode == "login-expired")
            http.pendingCookie = "samrom_pending=not-a-token"
            #expect(try await http.request(.POST, "/api/session/second-factor", body: #"{"code":"123456"}"#).errorCode == "login-expired")
            http.pendingCookie = "samrom_pending=" + PendingLoginToken.random().encoded
            #expect(try await http.request(.POST, "/api/session/second-factor", body: #"{"code":"123456"}"#).errorCode == "login-expired")
            #expect(try await http.request(.POST, "/api/me/totp").errorCode == "login-expired")
            http.pendingCookie = nil
            #expect(try await http.request(.POST, "/api/me/totp").errorCode == "unauthenticated")
            #expect(try await http.request(.POST, "/api/me/totp/confirm", body: #"{"code":"123456"}"#).errorCode == "unauthenticated")
            for body in ["", "{}", #"{"code":5}"#, "[", #"{"code":"\#(String(repeating: "9", count: 10_000))"}"#] {
                let reply = try await http.request(.POST, "/api/session/second-factor", body: body)
                #expect(reply.status == 400 || reply.errorCode == "login-expired", "\(body.prefix(20)): \(reply.status)")
            }
            try await http.login("kari")
            #expect(try await http.request(.POST, "/api/me/totp/confirm", body: #"{"code":"123456"}"#).errorCode == "no-enrolment")
            #expect(try await http.request(.POST, "/api/me/totp").status == 200)
            let long = try await http.request(.POST, "/api/me/totp/confirm", body: #"{"code":"\#(String(repeating: "1", count: 5_000))"}"#)
            #expect(long.errorCode == "wrong-code")
        }
    }

    @Test func aServerWithAnotherSecondFactorKeyDoesNotStart() async throws {
        let data = LiveServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let first = try await LiveServer.start(dataDirectory: data)
        await first.stop()
        let path = data.appendingPathComponent(SecondFactorKeyFile.fileName)
        try FileManager.default.removeItem(at: path)
        _ = try SecondFactorKeyFile.create(in: data)
        await #expect {
            let second = try await LiveServer.start(dataDirectory: data)
            await second.stop()
        } throws: { error in
            "\(error)".contains("second-factor key") && "\(error)".contains(SecondFactorKeyFile.fileName)
        }
    }
}
