import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SamromCore
@testable import SamromServer
import SamromTestSupport
import Testing

/// Staff login with an OpenID Connect provider, against a real provider
/// (oidc-provider-mock) over HTTPS: the code flow with state, nonce and
/// PKCE, the ID token verified with jwt-kit against the provider's JWKS,
/// the account found by its linked claim value. And the wrong turns: a
/// replayed code, a wrong state, no cookie, an unlinked or disabled
/// account, an expired token, another client's token, a forged signature,
/// another issuer's token, a wrong nonce: each refused and logged.
@Suite struct OpenIDLoginTests {
    static let clientID = "samrom-test"
    static let users = [
        ["sub": "kari-sub", "email": "Kari.Nordmann@Testby.kommune.no"],
        ["sub": "ola-sub", "email": "ola@testby.kommune.no"],
        ["sub": "pvo-sub", "email": "pvo@testby.kommune.no"],
        ["sub": "lena-sub", "email": "lena@testby.kommune.no"],
    ]

    /// A server configured for `provider`, with kari linked and ola not.
    static func withLinkedServer(_ provider: OpenIDProvider, _ body: (LiveServer) async throws -> Void) async throws {
        let secretFile = LiveServer.temporaryDirectory().appendingPathExtension("oidc-secret")
        try Data("the client secret\n".utf8).write(to: secretFile)
        defer { try? FileManager.default.removeItem(at: secretFile) }
        try await withServer({
            $0.openID = OpenIDSettings(
                issuer: provider.issuer, clientID: clientID, clientSecretFile: secretFile.path, displayName: "Testby ID",
                caFile: TestCertificates.directory.appendingPathComponent("ca.crt").path)
        }) { server in
            let kari = try await server.addUser("kari", role: .veileder)
            let pvo = try await server.addUser("pvo", role: .privacyOfficer)
            _ = try await server.addUser("ola", role: .veileder)
            #expect(try await server.app.store.linkIdentity("kari.nordmann@testby.kommune.no", to: kari.id))
            #expect(try await server.app.store.linkIdentity("pvo@testby.kommune.no", to: pvo.id))
            let lena = try await server.addUser("lena", role: .leder)
            #expect(try await server.app.store.linkIdentity("lena@testby.kommune.no", to: lena.id))
            try await body(server)
        }
    }

    /// One browser's steps, without following redirects.
    struct Browser {
        let server: LiveServer
        var oidcCookie: String?

        func get(_ path: String, cookie: String? = nil, headers: [(String, String)] = []) async throws -> HTTPClientResponse {
            var request = HTTPClientRequest(url: path.hasPrefix("https://") ? path : server.baseURL + path)
            if let cookie { request.headers.add(name: "Cookie", value: cookie) }
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            let response = try await OpenIDProvider.http.execute(request, timeout: .seconds(30))
            _ = try await response.body.collect(upTo: 1 << 20)
            return response
        }

        /// `GET /api/session/oidc`: the provider's URL, and the attempt cookie kept.
        mutating func start() async throws -> String {
            let response = try await get("/api/session/oidc")
            #expect(response.status == .seeOther)
            let cookie = try #require(response.headers.first(name: "Set-Cookie"))
            for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/api/session/oidc", "Max-Age=600"] {
                #expect(cookie.contains(attribute), "the attempt cookie lacks \(attribute)")
            }
            oidcCookie = String(cookie.split(separator: ";")[0])
            return try #require(response.headers.first(name: "Location"))
        }

        /// The whole way: start, the person at the provider, and back.
        mutating func logIn(as sub: String, at provider: OpenIDProvider) async throws -> (location: String, session: String?) {
            let authorize = try await start()
            return try await back(try await provider.authorize(authorize, as: sub))
        }

        /// The provider's redirect back, followed to the server: where it sends the browser, and the session cookie if any.
        func back(_ url: String) async throws -> (location: String, session: String?) {
            // As a browser sends it: a navigation from the provider's site.
            let response = try await get(url, cookie: oidcCookie, headers: [("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Mode", "navigate")])
            #expect(response.status == .seeOther)
            let session = response.headers["Set-Cookie"].first { $0.hasPrefix("samrom_session=") }.map { String($0.split(separator: ";")[0]) }
            return (try #require(response.headers.first(name: "Location")), session)
        }
    }

    static func loginReasons(_ server: LiveServer) async throws -> [String] {
        try await server.auditEntries().filter { $0.event.action == .login }.map {
            "\($0.event.outcome.rawValue): \($0.event.reason ?? "")"
        }
    }

    @Test func theCodeFlowLogsTheLinkedAccountInOnce() async throws {
        try await OpenIDProvider.with(users: Self.users) { provider in try await Self.withLinkedServer(provider) { server in
            let options = try await HTTPTestClient(server).request(.GET, "/api/session/options")
            #expect(options.body.contains(#""name":"Testby ID""#))

            var browser = Browser(server: server)
            let authorize = try await browser.start()
            let query = try #require(URLComponents(string: authorize)?.queryItems)
            func item(_ name: String) -> String? { query.first { $0.name == name }?.value }
            #expect(authorize.hasPrefix(provider.issuer + "/oauth2/authorize?"))
            #expect(item("response_type") == "code" && item("client_id") == Self.clientID)
            #expect(item("redirect_uri") == server.baseURL + "/api/session/oidc/callback")
            #expect(item("code_challenge_method") == "S256" && item("code_challenge")?.count == 43)
            #expect(item("state")?.count == 43 && item("nonce")?.count == 43)
            // The browser can read none of it in its cookie.
            for secret in [item("state")!, item("nonce")!] { #expect(!browser.oidcCookie!.contains(secret)) }

            let callback = try await provider.authorize(authorize, as: "kari-sub")
            #expect(callback.hasPrefix(server.baseURL + "/api/session/oidc/callback?"))
            let (location, session) = try await browser.back(callback)
            #expect(location == "/")
            let me = HTTPTestClient(server)
            me.cookie = session
            #expect(try await me.request(.GET, "/api/me").string("username") == "kari")

            // The same answer again: the provider will not redeem its code twice.
            let replay = try await browser.back(callback)
            #expect(replay.location == "/#login-error=oidc-refused" && replay.session == nil)
            let reasons = try await Self.loginReasons(server)
            #expect(reasons.contains("allowed: OpenID Connect (Testby ID)"))
            #expect(reasons.contains("denied: OpenID Connect: the provider refused the code (invalid_grant)"))
            // No claim value or token is written to the log.
            let text = try await server.auditEntries().map { String(decoding: $0.canonicalBytes(), as: UTF8.self) }.joined()
            #expect(!text.lowercased().contains("kari.nordmann@") && !text.contains(item("nonce")!))

            // The personvernombud lands on the log's page.
            var ombud = Browser(server: server)
            #expect(try await ombud.logIn(as: "pvo-sub", at: provider).location == "/audit/")
            // The leder on the figures' page.
            var leder = Browser(server: server)
            #expect(try await leder.logIn(as: "lena-sub", at: provider).location == "/leder/")
        } }
    }

    @Test func aWrongStateNoCookieOrAnUnlinkedAccountLogsNoOneIn() async throws {
        try await OpenIDProvider.with(users: Self.users) { provider in try await Self.withLinkedServer(provider) { server in
            var browser = Browser(server: server)
            let callback = try await provider.authorize(try await browser.start(), as: "kari-sub")
            // Another state than this browser's.
            var forged = try #require(URLComponents(string: callback))
            forged.queryItems = forged.queryItems?.map { $0.name == "state" ? URLQueryItem(name: "state", value: String(repeating: "A", count: 43)) : $0 }
            #expect(try await browser.back(forged.string!) == ("/#login-error=oidc-state", nil))
            // The right answer in a browser that did not start it (login CSRF).
            #expect(try await Browser(server: server).back(callback) == ("/#login-error=oidc-state", nil))
            // A cookie that was changed.
            var tampered = browser
            tampered.oidcCookie = String(browser.oidcCookie!.dropLast(2)) + "AA"
            #expect(try await tampered.back(callback) == ("/#login-error=oidc-state", nil))
            // Too late: the attempt lives ten minutes.
            server.clock.advance(by: 601)
            #expect(try await browser.back(callback) == ("/#login-error=oidc-state", nil))
            server.clock.advance(by: -601)
            // The provider's own refusal, for this browser's attempt.
            let state = try #require(URLComponents(string: callback)?.queryItems?.first { $0.name == "state" }?.value)
            let denied = server.baseURL + "/api/session/oidc/callback?error=access_denied&state=" + state
            #expect(try await browser.back(denied) == ("/#login-error=oidc-denied", nil))

            // A person the provider knows but no account is linked to.
            var ola = Browser(server: server)
            #expect(try await ola.logIn(as: "ola-sub", at: provider) == ("/#login-error=oidc-no-account", nil))
            // A disabled account.
            #expect(try await server.app.accounts.disable(username: "kari"))
            var again = Browser(server: server)
            #expect(try await again.logIn(as: "kari-sub", at: provider) == ("/#login-error=oidc-no-account", nil))
            let reasons = try await Self.loginReasons(server)
            #expect(reasons.filter { $0 == "denied: OpenID Connect (Testby ID): no enabled account is linked to this identity" }.count == 2)
            #expect(reasons.contains { $0.hasPrefix("denied: OpenID Connect: the answer's state does not match") })
            #expect(!reasons.contains { $0.hasPrefix("allowed") })
        } }
    }

    @Test func anExpiredTokenIsRefused() async throws {
        // Tokens that live five seconds, and a server clock almost seven minutes on (the attempt lives ten):
        // expired even when a busy machine took minutes between the token and the check.
        try await OpenIDProvider.with(users: Self.users, tokenMaxAge: 5) { provider in try await Self.withLinkedServer(provider) { server in
            var browser = Browser(server: server)
            let callback = try await provider.authorize(try await browser.start(), as: "kari-sub")
            server.clock.advance(by: 400)
            #expect(try await browser.back(callback) == ("/#login-error=oidc-token", nil))
            #expect(try await Self.loginReasons(server).contains("denied: OpenID Connect: the ID token has expired"))
        } }
    }

    @Test func tokensForAnotherClientForgedOrFromAnotherIssuerAreRefused() async throws {
        try await OpenIDProvider.with(users: Self.users) { provider in try await OpenIDProvider.with(users: Self.users) { other in
        let secretFile = LiveServer.temporaryDirectory().appendingPathExtension("oidc-secret")
        try Data("s".utf8).write(to: secretFile)
        defer { try? FileManager.default.removeItem(at: secretFile) }
        let clock = TestClock()
        let client = try OpenIDClient(
            settings: OpenIDSettings(
                issuer: provider.issuer, clientID: Self.clientID, clientSecretFile: secretFile.path, displayName: "Testby ID",
                caFile: TestCertificates.directory.appendingPathComponent("ca.crt").path),
            clock: clock.wallClock)
        func refusal(_ token: String, nonce: String = "n-1") async -> String? {
            do {
                _ = try await client.verify(token, nonce: nonce)
                return nil
            } catch {
                return "\(error)"
            }
        }

        let good = try await provider.idToken(clientID: Self.clientID, nonce: "n-1", as: "kari-sub")
        #expect(await refusal(good) == nil)
        #expect(await refusal(good, nonce: "n-2") == "the ID token's nonce does not match")
        let forOther = try await provider.idToken(clientID: "another-client", nonce: "n-1", as: "kari-sub")
        #expect(await refusal(forOther) == "the ID token is for another client")
        // One changed byte of the signature.
        var parts = good.split(separator: ".").map(String.init)
        let flipped = parts[2].first == "A" ? "B" : "A"
        parts[2] = flipped + parts[2].dropFirst()
        #expect(await refusal(parts.joined(separator: ".")) == "the ID token's signature is not valid for the provider's keys")
        // A claim changed under the same signature.
        var claims = good.split(separator: ".").map(String.init)
        claims[1] = claims[1].replacingOccurrences(of: "a", with: "b")
        #expect(await refusal(claims.joined(separator: ".")) != nil)
        // Signed by another provider with keys of its own.
        let foreign = try await other.idToken(clientID: Self.clientID, nonce: "n-1", as: "kari-sub")
        #expect(await refusal(foreign) == "the ID token's signature is not valid for the provider's keys")
        // alg "none" with no signature.
        let header = Data(#"{"alg":"none","typ":"JWT"}"#.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
        #expect(await refusal(header + "." + good.split(separator: ".")[1] + ".") != nil)
        #expect(await refusal("not a token") != nil)
        #expect(await refusal(String(repeating: "a", count: 20_000)) == "the ID token is too large")
        await client.shutdown()
        } }
    }

    /// Issue 15, point 3: a deltaker logs in with ID-porten (here the same
    /// real provider acting as it) before knocking; the veileder sees the
    /// knock as identified at the high level and records it at admission;
    /// the personal identity number is kept nowhere.
    @Test func aDeltakerVerifiedWithIDPortenKnocksIdentified() async throws {
        let pid = "01017012345"
        let people = [
            ["sub": "high-sub", "acr": "idporten-loa-high", "pid": pid],
            ["sub": "low-sub", "acr": "idporten-loa-substantial", "pid": "02027012345"],
        ]
        try await OpenIDProvider.with(users: people) { provider in
            let secretFile = LiveServer.temporaryDirectory().appendingPathExtension("idporten-secret")
            try Data("the client secret".utf8).write(to: secretFile)
            defer { try? FileManager.default.removeItem(at: secretFile) }
            try await withServer({
                $0.idPorten = OpenIDSettings(
                    issuer: provider.issuer, clientID: "samrom-idporten", clientSecretFile: secretFile.path, claim: "sub", scopes: ["openid"],
                    requiredACR: VerifiedIdentity.requiredACR, displayName: "ID-porten",
                    caFile: TestCertificates.directory.appendingPathComponent("ca.crt").path)
            }) { server in
                let s = try await SignallingFlowTests.setUp(server)
                #expect(try await s.http.request(.GET, "/api/session/options").json["idPorten"] == .bool(true))
                var browser = Browser(server: server)
                // Only this server's join page may be returned to.
                for bad in ["https://evil.example/j/", "/j/?r=x", "//evil.example/j/", "/audit/"] {
                    let query = bad.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                    #expect(try await browser.get("/api/identity/id-porten?return=" + query).status == .badRequest, "\(bad)")
                }
                func verify(_ sub: String) async throws -> HTTPClientResponse {
                    let start = try await browser.get("/api/identity/id-porten?return=%2Fj%2F")
                    #expect(start.status == .seeOther)
                    let attempt = try #require(start.headers.first(name: "Set-Cookie"))
                    #expect(attempt.contains("Path=/api/identity/id-porten") && attempt.contains("SameSite=Lax"))
                    browser.oidcCookie = String(attempt.split(separator: ";")[0])
                    let authorize = try #require(start.headers.first(name: "Location"))
                    #expect(authorize.contains("acr_values=idporten-loa-high"))
                    let back = try await provider.authorize(authorize, as: sub)
                    return try await browser.get(back, cookie: browser.oidcCookie, headers: [("Sec-Fetch-Site", "cross-site")])
                }

                // The substantial level is not enough.
                let low = try await verify("low-sub")
                #expect(low.headers.first(name: "Location") == "/j/#id-porten-error=oidc-token")
                #expect(!low.headers["Set-Cookie"].contains { $0.hasPrefix("samrom_idporten=") })

                let high = try await verify("high-sub")
                #expect(high.headers.first(name: "Location") == "/j/#id-porten-verified")
                let set = try #require(high.headers["Set-Cookie"].first { $0.hasPrefix("samrom_idporten=") })
                for attribute in ["Path=/ws", "HttpOnly", "Secure", "SameSite=Strict", "Max-Age=900"] {
                    #expect(set.contains(attribute), "the verification cookie lacks \(attribute)")
                }
                let verification = String(set.split(separator: ";")[0])

                // The knock, with the cookie its upgrade carries.
                let deltaker = try await WSTestClient.connect(server, cookie: verification)
                deltaker.send(["type": .string("hello"), "v": .int(2), "token": .string(s.token)])
                _ = try await deltaker.expect("welcome")
                _ = try await deltaker.expect("lobby")
                let knock = try await s.veileder.socket.expect("knock", ignoring: ["roster", "key"])
                #expect(knock.object("identified") == ["method": .string("id-porten"), "level": .string("high")])
                // And one without: no claim of identity.
                let other = try await WSTestClient.connect(server)
                other.send(["type": .string("hello"), "v": .int(2), "token": .string(s.token)])
                _ = try await other.expect("welcome")
                let plain = try await s.veileder.socket.expect("knock", ignoring: ["roster", "key"])
                #expect(plain.object("identified") == nil)
                // "ID-porten" only for the verified one.
                s.veileder.socket.send([
                    "type": .string("admit"), "participant": .string(try #require(plain.string("participant"))),
                    "identification": .string("id-porten"),
                ])
                _ = try await s.veileder.socket.expect("error", ignoring: ["roster", "key"])
                s.veileder.socket.send([
                    "type": .string("admit"), "participant": .string(try #require(knock.string("participant"))),
                    "identification": .string("id-porten"),
                ])
                _ = try await deltaker.expect("admitted")

                let entries = try await server.auditEntries()
                let reasons = entries.compactMap(\.event.reason)
                #expect(reasons.contains("deltaker is waiting in the lobby; verified with ID-porten (high level)"))
                #expect(reasons.contains { $0.hasSuffix("; identified: ID-porten") })
                #expect(reasons.contains("ID-porten: the ID token's assurance level is not idporten-loa-high"))
                #expect(reasons.contains("verified with ID-porten (high level) before knocking"))
                // The personal identity number: nowhere.
                let text = entries.map { String(decoding: $0.canonicalBytes(), as: UTF8.self) }.joined()
                #expect(!text.contains(pid) && !text.contains("02027012345"))
                #expect(!(try dataDirectoryContains(server, pid)))
                deltaker.close()
                other.close()
            }
        }
    }

    @Test func theClaimsAreCheckedAsOpenIDConnectSays() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let check = IDTokenCheck(issuer: "https://id.example", clientID: "samrom", nonce: "n", requiredACR: "idporten-loa-high")
        let good = IDTokenCheck.Claims(
            issuer: "https://id.example", audiences: ["samrom"], authorizedParty: nil, expiresAt: now.addingTimeInterval(60),
            issuedAt: now, nonce: "n", acr: "idporten-loa-high")
        #expect(check.refusal(good, now: now) == nil)
        var claims = good
        claims.issuer = "https://other.example"
        #expect(check.refusal(claims, now: now) == "the ID token is from another issuer")
        claims = good
        claims.audiences = ["samrom", "other"]
        #expect(check.refusal(claims, now: now) == "the ID token was presented for another client")
        claims.authorizedParty = "samrom"
        #expect(check.refusal(claims, now: now) == nil)
        claims = good
        claims.expiresAt = now.addingTimeInterval(-61)
        #expect(check.refusal(claims, now: now) == "the ID token has expired")
        claims.expiresAt = nil
        #expect(check.refusal(claims, now: now) == "the ID token has expired")
        claims = good
        claims.issuedAt = now.addingTimeInterval(120)
        #expect(check.refusal(claims, now: now) == "the ID token is issued in the future")
        claims = good
        claims.nonce = nil
        #expect(check.refusal(claims, now: now) == "the ID token's nonce does not match")
        claims = good
        claims.acr = "idporten-loa-substantial"
        #expect(check.refusal(claims, now: now) == "the ID token's assurance level is not idporten-loa-high")
    }

    @Test func withoutAProviderThereIsNoOpenIDLogin() async throws {
        try await withServer({ _ in }) { server in
            let http = HTTPTestClient(server)
            let options = try await http.request(.GET, "/api/session/options")
            let start = try await http.request(.GET, "/api/session/oidc")
            let callback = try await http.request(.GET, "/api/session/oidc/callback?code=x&state=y")
            #expect(options.json["oidc"] == .null && options.json["idPorten"] == .bool(false))
            #expect(start.status == 404 && callback.status == 404)
        }
    }
}
