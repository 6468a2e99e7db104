import Foundation
import SamromCore
@testable import SamromServer
import Sodium
import Testing

extension BrowserInteropTests {
    /// The second factor in real headless Chromium (Tests/Browser/identity_flow.py),
    /// through the veileder's page: «Tofaktor-innlogging» from the overview
    /// says it is not set up; setting it up shows the server's QR code as an
    /// image (scanned from the screen with zbarimg: the otpauth URL of the
    /// secret shown beside it in groups of four), refuses a short and a wrong
    /// first code with the message said and the field marked, takes a right
    /// one, and shows the ten recovery codes once (copied, downloaded as
    /// .txt, put away with «Jeg har tatt vare på kodene»); then logging in
    /// takes the password and a code from the app (a wrong one refused), or
    /// a recovery code in capitals with spaces, which is refused the next
    /// time; a login left past its five minutes goes back to the password,
    /// and wrong codes end in «Vent …». Every screen passes axe-core, the
    /// login's second step, the enrolment and the recovery codes in both
    /// languages.
    ///
    /// The server's clock is the test's and stands still, so the codes are
    /// made here with the server's own RFC 6238 arithmetic (`TOTPGenerator`,
    /// proven on RFC 6238's vectors) from the secret the page showed, and sent
    /// to the script; the clock moves 30 s between codes, as a real app's do.
    @Test(.enabled(if: available, "runs under `make test`: Chromium in a loopback-only network namespace"))
    func theVeilederSetsUpAndUsesASecondFactor() async throws {
        try await withServer({ $0.totpIssuer = "Frisklivssentralen Testby" }) { server in
            try await server.addUser("kari", role: .veileder, password: "a good long password")
            let script = try BrowserScript("identity_flow.py", [
                "https://localhost:\(server.port)", "veileder", "kari", "a good long password",
            ])

            // Setting up, from the overview.
            let first = try await script.next()
            let page = try #require(first["page"] as? [String: Any])
            let off = try #require(page["off"] as? [String: Any])
            #expect(off["status"] as? String == "Tofaktor-innlogging er ikke satt opp for kontoen din.", "\(off)")
            #expect(off["start"] as? Bool == true && off["reset"] as? Bool == false && off["focus"] as? String == "H1", "\(off)")
            #expect(
                Self.canonical(page["cancelled"])
                    == #"{"focus":"second-factor-start","secretCleared":true,"status":"Tofaktor-innlogging er ikke satt opp for kontoen din."}"#)
            let enrol = try #require(first["enrol"] as? [String: Any])
            let secret = try Self.expectEnrolment(enrol, account: "kari", issuer: "Frisklivssentralen%20Testby", atLogin: false)
            #expect((enrol["english"] as? [String: String])?["#enrol-heading"] == "Set up two-factor sign-in", "\(enrol)")
            #expect((enrol["english"] as? [String: String])?["#enrol-form button[type=submit]"] == "Turn on two-factor sign-in")
            try script.send(["wrong": Self.wrongCode(secret, server), "code": Self.appCode(secret, server)])

            let second = try await script.next()
            let problems = try #require(second["enrolProblems"] as? [String: Any])
            #expect(problems["short"] as? String == "Skriv inn de seks sifrene som appen viser.", "\(problems)")
            let wrongFirst = "Koden stemmer ikke. Skriv inn koden appen viser nå; klokken på telefonen må gå riktig."
            #expect(problems["wrong"] as? String == wrongFirst, "\(problems)")
            let marked = try #require(problems["field"] as? [String: Any])
            #expect(marked["invalid"] as? String == "true" && (marked["describedBy"] as? [String])?.first == wrongFirst, "\(marked)")
            #expect(problems["focus"] as? String == "enrol-code" && (problems["status"] as? String)?.hasSuffix(wrongFirst) == true, "\(problems)")
            let recovery = try #require(second["recovery"] as? [String: Any])
            _ = try Self.expectRecoveryCodes(recovery, account: "kari")
            #expect(recovery["backShown"] as? Bool == false, "the recovery codes are left only by saying they are saved")
            #expect(try await server.app.accounts.secondFactors.isEnrolled(try #require(try await server.app.store.account(username: "kari")).id))
            let on = try #require((second["page"] as? [String: Any])?["on"] as? [String: Any])
            #expect((on["status"] as? String)?.hasPrefix("Tofaktor-innlogging er slått på for kontoen din.") == true, "\(on)")
            #expect((on["reset"] as? String)?.contains("må en administrator nullstille") == true, "\(on)")
            #expect(on["command"] as? String == "samrom user reset-second-factor kari", "\(on)")
            #expect(on["focus"] as? String == "second-factor-status" && on["start"] as? Bool == false && on["back"] as? Bool == true, "\(on)")
            #expect(on["recoveryHidden"] as? Bool == true && on["codesForgotten"] as? Bool == true, "\(on)")

            // The confirming code's step is used: the login's code is the next step's.
            server.clock.advance(by: TOTP.period)
            try script.send(["wrong": Self.wrongCode(secret, server), "code": Self.appCode(secret, server)])
            let third = try await script.next()
            let login = try #require(third["login"] as? [String: Any])
            #expect(login["focus"] as? String == "second-step-code" && login["heading"] as? String == "Tofaktor-innlogging", "\(login)")
            #expect(login["passwordFormHidden"] as? Bool == true && login["passwordCleared"] as? Bool == true, "\(login)")
            #expect(login["kind"] as? String == "Bruk en gjenopprettingskode", "\(login)")
            #expect((login["status"] as? String)?.hasSuffix("Passordet stemmer. Skriv inn koden fra autentiseringsappen.") == true, "\(login)")
            let appField = try #require(login["field"] as? [String: Any])
            #expect(appField["label"] as? String == "Kode fra autentiseringsappen", "\(appField)")
            #expect(appField["autocomplete"] as? String == "one-time-code" && appField["inputmode"] as? String == "numeric", "\(appField)")
            #expect((appField["describedBy"] as? [String])?.first?.hasPrefix("Åpne autentiseringsappen") == true, "\(appField)")
            let english = try #require(login["english"] as? [String: String])
            #expect(english["#second-step-label"] == "Code from the authenticator app" && english["#second-step-kind"] == "Use a recovery code", "\(english)")
            let wrongCode = "Koden stemmer ikke, eller den er brukt allerede. Vent til appen viser en ny kode, og prøv igjen."
            #expect(login["wrong"] as? String == wrongCode, "\(login)")
            #expect((login["wrongField"] as? [String: Any])?["invalid"] as? String == "true" && login["wrongFocus"] as? String == "second-step-code", "\(login)")
            #expect((login["wrongStatus"] as? String)?.hasSuffix(wrongCode) == true, "\(login)")
            #expect(login["loggedIn"] as? String == "kari", "\(login)")
            #expect(Self.canonical(login["afterLogout"]) == #"{"codeFormHidden":true,"passwordForm":true}"#)
            #expect(Self.canonical(login["cancel"]) == #"{"focus":"password","problemHidden":true,"stepHidden":true}"#)

            let withRecovery = try #require(third["recovery"] as? [String: Any])
            let recoveryField = try #require(withRecovery["field"] as? [String: Any])
            #expect(recoveryField["label"] as? String == "Gjenopprettingskode" && recoveryField["inputmode"] as? String == "text", "\(recoveryField)")
            #expect(recoveryField["autocomplete"] as? String == "off", "\(recoveryField)")
            #expect(withRecovery["kind"] as? String == "Bruk koden fra appen" && withRecovery["focus"] as? String == "second-step-code", "\(withRecovery)")
            #expect(withRecovery["loggedIn"] as? String == "kari", "\(withRecovery)")
            let reused = "Gjenopprettingskoden stemmer ikke, eller den er brukt allerede. Hver kode virker bare én gang: prøv en annen."
            #expect(withRecovery["reused"] as? String == reused, "\(withRecovery)")
            #expect((withRecovery["reusedStatus"] as? String)?.hasSuffix(reused) == true, "\(withRecovery)")
            #expect(withRecovery["secondCodeLoggedIn"] as? String == "kari", "\(withRecovery)")

            // The page waits on the second step past the pending login's lifetime.
            server.clock.advance(by: 301)
            try script.send(["wrong": Self.wrongCode(secret, server)])
            let last = try await script.next()
            #expect(last["axe"] as? [String] == [], "\(last["axe"] ?? "")")
            let expired = try #require(last["expired"] as? [String: Any])
            let back = "Innloggingen ble avbrutt: det gikk for lang tid, eller det ble for mange feil. Skriv inn passordet på nytt."
            #expect(expired["problem"] as? String == back && expired["focus"] as? String == "password", "\(expired)")
            #expect(expired["codeFormHidden"] as? Bool == true && expired["username"] as? String == "kari", "\(expired)")
            #expect((expired["status"] as? String)?.hasSuffix(back) == true, "\(expired)")
            let throttled = try #require(expired["throttled"] as? [String?])
            #expect(throttled.dropLast().allSatisfy { $0 == wrongCode }, "\(throttled)")
            let wait = try #require(throttled.last ?? nil)
            #expect(wait.wholeMatch(of: /For mange forsøk\. Vent \d+ sekund(er)? og prøv igjen\./) != nil, "\(throttled)")
            #expect(last["resourceHosts"] as? [String] == ["localhost:\(server.port)"])
            #expect(await script.finish() == 0)

            // What the server saw: one enrolment, and each login with its second factor.
            let logins = try await server.auditEntries().filter { $0.event.action == .login && $0.event.outcome == .allowed }.map(\.event.reason)
            #expect(logins.filter { $0 == "password and TOTP" }.count == 1, "\(logins)")
            #expect(logins.contains("password and recovery code (9 left)") && logins.contains("password and recovery code (8 left)"), "\(logins)")
            let refused = try await server.auditEntries().filter { $0.event.action == .login && $0.event.outcome == .denied }.map(\.event.reason)
            #expect(refused.contains("wrong TOTP code") && refused.contains("recovery code used already"), "\(refused)")
        }
    }

    /// `--require-second-factor` in the personvernombud's page: the first
    /// login goes from the password straight to setting up TOTP (inside the
    /// login view, saying why), refuses a wrong first code, shows the
    /// recovery codes, and ends logged in, in the log; the page's own
    /// «Tofaktor-innlogging» then says it is set up and names the command an
    /// administrator resets it with. axe-clean in both languages.
    @Test(.enabled(if: available, "runs under `make test`: Chromium in a loopback-only network namespace"))
    func aRequiredSecondFactorIsSetUpAtTheFirstLogin() async throws {
        try await withServer({ $0.secondFactor.required = true; $0.totpIssuer = "Samrom Testby" }) { server in
            try await server.addUser("pvo", role: .privacyOfficer, password: "the officer's password")
            let script = try BrowserScript("identity_flow.py", [
                "https://localhost:\(server.port)", "required", "pvo", "the officer's password",
            ])
            let first = try await script.next()
            let enrol = try #require(first["enrol"] as? [String: Any])
            let secret = try Self.expectEnrolment(enrol, account: "pvo", issuer: "Samrom%20Testby", atLogin: true)
            #expect(enrol["state"] as? String == "login" && enrol["passwordFormHidden"] as? Bool == true, "\(enrol)")
            #expect((enrol["requiredText"] as? String)?.hasPrefix("Kontoen din må ha tofaktor-innlogging.") == true, "\(enrol)")
            #expect((enrol["english"] as? [String: String])?["#enrol-required"]?.hasPrefix("Your account must have two-factor sign-in.") == true, "\(enrol)")
            try script.send(["wrong": Self.wrongCode(secret, server), "code": Self.appCode(secret, server)])

            let last = try await script.next()
            #expect(last["axe"] as? [String] == [], "\(last["axe"] ?? "")")
            let problems = try #require(last["problems"] as? [String: Any])
            #expect(problems["wrong"] as? String == "Koden stemmer ikke. Skriv inn koden appen viser nå; klokken på telefonen må gå riktig.", "\(problems)")
            let recovery = try #require(last["recovery"] as? [String: Any])
            _ = try Self.expectRecoveryCodes(recovery, account: "pvo")
            #expect(recovery["stateBeforeSaved"] as? String == "login", "the codes come before the page: \(recovery)")
            #expect(recovery["loggedIn"] as? String == "pvo", "\(recovery)")
            let page = try #require(last["page"] as? [String: Any])
            #expect((page["status"] as? String)?.hasPrefix("Tofaktor-innlogging er slått på for kontoen din.") == true, "\(page)")
            #expect(page["command"] as? String == "samrom user reset-second-factor pvo" && page["start"] as? Bool == false, "\(page)")
            #expect((page["again"] as? String)?.isEmpty == false, "\(page)")
            let english = try #require(page["english"] as? [String: String])
            #expect(english["#second-factor-status"]?.hasPrefix("Two-factor sign-in is on for your account.") == true, "\(english)")
            #expect(english["#second-factor-reset"]?.contains("an administrator must reset") == true, "\(english)")
            #expect(last["resourceHosts"] as? [String] == ["localhost:\(server.port)"])
            #expect(await script.finish() == 0)

            let logins = try await server.auditEntries().filter { $0.event.action == .login && $0.event.outcome == .allowed }.map(\.event.reason)
            #expect(logins == ["password; second factor set up"], "\(logins)")
        }
    }

    /// Logging in with OpenID Connect in real headless Chromium
    /// (Tests/Browser/idporten_flow.py), against the real provider of
    /// OpenIDLoginTests acting both as the staff's identity provider and as
    /// ID-porten: «Logg inn med Testby ID» beside the password form (a
    /// `#login-error` said and taken out of the address) logs the veileder
    /// in; the deltaker's «Logg inn med ID-porten» (denied once: a message,
    /// the link kept) comes back identified, knocks, and the veileder's
    /// lobby says so with «ID-porten» chosen; letting them in records it.
    /// axe-clean; the personal identity number nowhere.
    @Test(.enabled(if: available, "runs under `make test`: Chromium in a loopback-only network namespace"))
    func aDeltakerIdentifiedWithIDPortenIsLetIn() async throws {
        let pid = "01017012345"
        let people = [
            ["sub": "kari-sub", "email": "kari@testby.kommune.no"],
            ["sub": "high-sub", "acr": "idporten-loa-high", "pid": pid],
        ]
        try await OpenIDProvider.with(users: people) { provider in
            let secretFile = LiveServer.temporaryDirectory().appendingPathExtension("oidc-secret")
            try Data("the client secret".utf8).write(to: secretFile)
            defer { try? FileManager.default.removeItem(at: secretFile) }
            let ca = TestCertificates.directory.appendingPathComponent("ca.crt").path
            try await withServer({
                $0.openID = OpenIDSettings(
                    issuer: provider.issuer, clientID: "samrom-test", clientSecretFile: secretFile.path, displayName: "Testby ID", caFile: ca)
                $0.idPorten = OpenIDSettings(
                    issuer: provider.issuer, clientID: "samrom-idporten", clientSecretFile: secretFile.path, claim: "sub", scopes: ["openid"],
                    requiredACR: VerifiedIdentity.requiredACR, displayName: "ID-porten", caFile: ca)
            }) { server in
                let kari = try await server.addUser("kari", role: .veileder, password: "a good long password")
                #expect(try await server.app.store.linkIdentity("kari@testby.kommune.no", to: kari.id))
                let script = try BrowserScript("idporten_flow.py", ["https://localhost:\(server.port)"])
                let result = try await script.next()
                #expect(result["axe"] as? [String] == [], "\(result["axe"] ?? "")")

                let staff = try #require(result["staff"] as? [String: Any])
                #expect(staff["button"] as? String == "Logg inn med Testby ID" && staff["href"] as? String == "/api/session/oidc", "\(staff)")
                let noAccount = "Du er logget inn hos identitetsleverandøren, men brukeren din er ikke koblet til en konto i Samrom. Kontakt administratoren."
                #expect(staff["problem"] as? String == noAccount && staff["hash"] as? String == "", "\(staff)")
                #expect((staff["status"] as? String)?.hasSuffix(noAccount) == true && staff["passwordForm"] as? Bool == true, "\(staff)")
                let english = try #require(staff["english"] as? [String: Any])
                #expect(english["button"] as? String == "Log in with Testby ID", "\(english)")
                #expect((english["problem"] as? String)?.hasPrefix("You are logged in at the identity provider") == true, "\(english)")
                #expect(staff["loggedInAt"] as? String == "/", "\(staff)")

                let deltaker = try #require(result["deltaker"] as? [String: Any])
                #expect(deltaker["button"] as? String == "Logg inn med ID-porten" && deltaker["hashBefore"] as? String == "", "\(deltaker)")
                #expect((deltaker["help"] as? String)?.contains("aldri fødselsnummeret ditt") == true, "\(deltaker)")
                #expect(deltaker["href"] as? String == "/api/identity/id-porten?return=%2Fj%2F", "\(deltaker)")
                let denied = try #require(deltaker["denied"] as? [String: Any])
                // The provider's «Deny» answers without the state, so the server cannot take it as this
                // browser's attempt: oidc-state, said as such.
                #expect(denied["problem"] as? String == "Innloggingen med ID-porten ble avbrutt fordi den tok for lang tid. Prøv igjen.", "\(denied)")
                #expect(denied["hash"] as? String == "" && denied["kept"] is NSNull, "\(denied)")
                let verified = try #require(deltaker["verified"] as? [String: Any])
                #expect(verified["note"] as? String == "Du er identifisert med ID-porten.", "\(verified)")
                #expect(verified["hash"] as? String == "" && verified["path"] as? String == "/j/" && verified["kept"] is NSNull, "\(verified)")
                #expect(verified["problemHidden"] as? Bool == true && verified["offerHidden"] as? Bool == true, "\(verified)")

                let lobby = try #require(result["lobby"] as? [String: Any])
                #expect(lobby["identified"] as? String == "Identifisert med ID-porten (høyt nivå)", "\(lobby)")
                #expect(lobby["legend"] as? String == "Hvordan er personen identifisert?", "\(lobby)")
                let choices = try #require(lobby["choices"] as? [[Any]])
                #expect(choices.map { "\($0[0])=\($0[1])=\($0[2])" } == [
                    "id-porten=ID-porten=1", "known=Kjent fra før=0", "id-document=Viste legitimasjon=0",
                ], "\(choices)")
                #expect(result["resourceHosts"] as? [String] == ["localhost:\(server.port)"], "\(result["resourceHosts"] ?? "")")
                #expect(await script.finish() == 0)

                let entries = try await server.auditEntries()
                let reasons = entries.compactMap(\.event.reason)
                #expect(reasons.contains { $0.hasSuffix("; identified: ID-porten") }, "\(reasons)")
                #expect(reasons.contains("verified with ID-porten (high level) before knocking"), "\(reasons)")
                let logins = entries.filter { $0.event.action == .login && $0.event.outcome == .allowed }
                #expect(logins.count == 1, "\(reasons)")
                let text = entries.map { String(decoding: $0.canonicalBytes(), as: UTF8.self) }.joined()
                #expect(!text.contains(pid))
            }
        }
    }

    /// The enrolment panel as the script saw it; the secret it showed.
    static func expectEnrolment(_ enrol: [String: Any], account: String, issuer: String, atLogin: Bool) throws -> TOTPSecret {
        #expect(enrol["heading"] as? String == "Sett opp tofaktor-innlogging", "\(enrol)")
        #expect(enrol["focus"] as? String == "enrol-heading" && enrol["required"] as? Bool == atLogin, "\(enrol)")
        #expect((enrol["status"] as? String)?.hasSuffix("Skann QR-koden med autentiseringsappen, og skriv inn koden den viser.") == true, "\(enrol)")
        let shown = try #require(enrol["secret"] as? String)
        // In groups of four for typing by hand: 160 bits are 32 base32 letters.
        #expect(shown.wholeMatch(of: /[A-Z2-7]{4}( [A-Z2-7]{4}){7}/) != nil, "\(shown)")
        let text = shown.replacingOccurrences(of: " ", with: "")
        // The QR code on the screen is the server's, of this very secret (an <img>, no inline SVG).
        let qr = try #require(enrol["qr"] as? [String: Any])
        #expect(qr["alt"] as? String == "QR-kode for autentiseringsappen" && qr["label"] as? String == "QR-kode for autentiseringsappen", "\(qr)")
        #expect(qr["src"] as? String == "data:image/svg+xml;", "\(qr)")
        #expect((qr["width"] as? Int ?? 0) > 0 && qr["inDocument"] as? Int == 0, "\(qr)")
        #expect(
            enrol["qrDecoded"] as? String
                == "otpauth://totp/\(issuer):\(account)?secret=\(text)&issuer=\(issuer)&algorithm=SHA1&digits=6&period=30",
            "\(enrol["qrDecoded"] ?? "nil")")
        let field = try #require(enrol["field"] as? [String: Any])
        #expect(field["label"] as? String == "Koden på seks sifre som appen nå viser for Samrom", "\(field)")
        #expect(field["autocomplete"] as? String == "one-time-code" && field["inputmode"] as? String == "numeric", "\(field)")
        return try TOTPSecret(SecureBytes(try #require(Base32.decode(text))))
    }

    /// The recovery codes as shown, copied and downloaded; the codes.
    static func expectRecoveryCodes(_ recovery: [String: Any], account: String) throws -> [String] {
        let codes = try #require(recovery["codes"] as? [String])
        #expect(codes.count == 10 && Set(codes).count == 10, "\(codes)")
        #expect(codes.allSatisfy { $0.wholeMatch(of: /[a-z2-7]{4}(-[a-z2-7]{4}){3}/) != nil }, "\(codes)")
        #expect(recovery["heading"] as? String == "Gjenopprettingskodene dine" && recovery["focus"] as? String == "recovery-heading", "\(recovery)")
        #expect((recovery["important"] as? String)?.hasPrefix("Ta vare på disse kodene nå – de vises bare denne ene gangen.") == true, "\(recovery)")
        #expect(recovery["enrolHidden"] as? Bool == true && recovery["secretCleared"] as? Bool == true, "\(recovery)")
        #expect((recovery["status"] as? String)?.hasSuffix("Ta vare på de ti gjenopprettingskodene; de vises bare nå.") == true, "\(recovery)")
        #expect((recovery["copyStatus"] as? String)?.hasSuffix("Kodene er kopiert. Lim dem inn et trygt sted.") == true, "\(recovery)")
        let clipboard = try #require(recovery["clipboard"] as? String)
        #expect(codes.allSatisfy(clipboard.contains), "\(clipboard)")
        let files = try #require(recovery["downloaded"] as? [String: String])
        let file = try #require(files["samrom-gjenopprettingskoder.txt"], "\(files.keys)")
        #expect(codes.allSatisfy(file.contains) && file.hasPrefix("Samrom – gjenopprettingskoder for \(account) på localhost:"), "\(file)")
        let english = try #require(recovery["english"] as? [String: String])
        #expect(english["#recovery-saved"] == "I have saved the codes" && english["#recovery-heading"] == "Your recovery codes", "\(english)")
        #expect(english["#recovery-download"] == "Download as .txt" && english["lang"] == "en", "\(english)")
        return codes
    }

    /// The code an authenticator app shows now, by the server's clock.
    static func appCode(_ secret: TOTPSecret, _ server: LiveServer) -> String {
        TOTPGenerator.digits(secret, step: TOTP.step(at: server.clock.now))
    }

    /// Six digits that are no code of the window around the server's clock.
    static func wrongCode(_ secret: TOTPSecret, _ server: LiveServer) -> String {
        let step = TOTP.step(at: server.clock.now)
        let near = Set((step - 2...step + 2).map { TOTPGenerator.digits(secret, step: $0) })
        return (0..<10).map { String(repeating: String($0), count: 6) }.first { !near.contains($0) } ?? "012345"
    }
}
