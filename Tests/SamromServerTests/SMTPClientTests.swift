import Foundation
@testable import SamromServer
import SamromTestSupport
import Testing

/// The invitation mail's SMTP client against a real SMTP server (aiosmtpd,
/// Tests/SMTP/smtp_server.py) on 127.0.0.1 that requires STARTTLS, its
/// certificate from the tests' own CA. What arrives is read by Python's
/// email package: the envelope, the headers and the body decoded as a mail
/// reader would. And the refusals: no STARTTLS, an untrusted certificate,
/// nothing listening, a silent server, a refused recipient or login, a
/// plaintext reply slipped in after STARTTLS, and a header injection,
/// which never gets as far as connecting.
@Suite struct SMTPClientTests {
    static let from = "samrom@testby.kommune.no"

    static func settings(_ server: SMTPTestServer, _ change: (inout SMTPSettings) -> Void = { _ in }) -> SMTPSettings {
        var settings = SMTPSettings(
            host: "127.0.0.1", port: server.port, from: from, heloName: "samrom.testby.kommune.no",
            trustRoots: .caFile(TestCertificates.directory.appendingPathComponent("ca.crt").path), timeout: .seconds(20))
        change(&settings)
        return settings
    }

    static func failure(_ body: () async throws -> Void) async -> SMTPFailure? {
        do {
            try await body()
            return nil
        } catch let failure as SMTPFailure {
            return failure
        } catch {
            Issue.record("not an SMTPFailure: \(error)")
            return nil
        }
    }

    @Test func aMailArrivesOverTLSWithItsEnvelopeHeadersAndUTF8Text() async throws {
        try await SMTPTestServer.with { server in
            let body = "Hei!\n\nDu har en samtale med Barnevernet i Testby tirsdag 8. desember kl. 10.00.\nÆrlig talt: æøå ÆØÅ – «sitat» – 😀\nLenke: https://samrom.testby.kommune.no/j/#abc=def\n"
            let mail = OutgoingMail(to: "kari.nordmann@example.no", subject: "Påminnelse: samtale tirsdag – æøå", body: body)
            try await SMTPClient(settings: Self.settings(server)).send(mail)

            let mails = try server.mails
            try #require(mails.count == 1)
            let received = mails[0]
            #expect(received.mailFrom == Self.from)
            #expect(received.rcptTos == ["kari.nordmann@example.no"])
            #expect(received.tls)
            #expect(!received.authenticated)
            #expect(received.subject == "Påminnelse: samtale tirsdag – æøå")
            #expect(received.body == body.replacingOccurrences(of: "\n", with: "\r\n"))
            #expect(received.contentType == "text/plain")
            #expect(received.charset == "utf-8")
            #expect(received.transferEncoding == "quoted-printable")
            #expect(received.defects.isEmpty)
            #expect(received.header("From") == Self.from)
            #expect(received.header("To") == "kari.nordmann@example.no")
            #expect(received.header("MIME-Version") == "1.0")
            let messageID = try #require(received.header("Message-ID"))
            #expect(messageID.hasPrefix("<") && messageID.hasSuffix("@testby.kommune.no>"))
            // The Date header is RFC 5322 and now.
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
            let date = try #require(received.header("Date").flatMap(formatter.date(from:)))
            #expect(abs(date.timeIntervalSinceNow) < 120)
            // On the wire: ASCII only, CRLF only, no line over 78 characters.
            #expect(received.raw.unicodeScalars.allSatisfy { $0.isASCII })
            #expect(received.raw.contains("Subject: =?utf-8?B?"))
            let lines = received.raw.components(separatedBy: "\r\n")
            #expect(lines.allSatisfy { $0.utf8.count <= 78 && !$0.contains("\n") && !$0.contains("\r") })
            #expect(server.events == ["EHLO", "EHLO", "MAIL", "RCPT", "DATA"])
        }
    }

    @Test func linesStartingWithADotAndLongLinesArriveIntact() async throws {
        try await SMTPTestServer.with { server in
            let long = String(repeating: "ø", count: 120) + " " + String(repeating: "x", count: 200) + " \t"
            let body = ".\n..\n.skjult linje\nmidt . i\n\(long)\nslutt med mellomrom \n=3D er ikke kodet\n.\n"
            let subject = String(repeating: "Et langt emne som må brytes over flere linjer ", count: 4)
            try await SMTPClient(settings: Self.settings(server)).send(OutgoingMail(to: "ola@example.no", subject: subject, body: body))
            let received = try #require(try server.mails.first)
            #expect(received.body == body.replacingOccurrences(of: "\n", with: "\r\n"))
            #expect(received.subject == subject)
            #expect(received.defects.isEmpty)
        }
    }

    @Test func aPlainASCIISubjectIsSentAsItIs() async throws {
        try await SMTPTestServer.with { server in
            try await SMTPClient(settings: Self.settings(server)).send(OutgoingMail(to: "ola@example.no", subject: "Invitation", body: "Hello"))
            let received = try #require(try server.mails.first)
            #expect(received.raw.contains("\r\nSubject: Invitation\r\n"))
            #expect(received.body == "Hello\r\n")
        }
    }

    @Test func aServerWithoutSTARTTLSGetsNothing() async throws {
        var options = SMTPTestServer.Options()
        options.tls = false
        try await SMTPTestServer.with(options) { server in
            let failure = await Self.failure {
                try await SMTPClient(settings: Self.settings(server)).send(OutgoingMail(to: "ola@example.no", subject: "S", body: "B"))
            }
            #expect(failure?.code == .noStartTLS)
            #expect(server.events == ["EHLO"])
            let mails = try server.mails
            #expect(mails.isEmpty)
        }
    }

    @Test func anUntrustedCertificateIsRefused() async throws {
        try await SMTPTestServer.with { server in
            // The system's roots do not know the tests' CA.
            let failure = await Self.failure {
                try await SMTPClient(settings: Self.settings(server) { $0.trustRoots = .system })
                    .send(OutgoingMail(to: "ola@example.no", subject: "S", body: "B"))
            }
            #expect(failure?.code == .tls)
            #expect(!server.events.contains("MAIL"))
            let mails = try server.mails
            #expect(mails.isEmpty)
        }
    }

    @Test func aCertificateForAnotherNameIsRefused() async throws {
        // Issued by the trusted test CA, but for smtp.other.example only, not 127.0.0.1.
        var options = SMTPTestServer.Options()
        options.certificate = try await SMTPTestServer.certificate(for: "smtp.other.example")
        try await SMTPTestServer.with(options) { server in
            let failure = await Self.failure {
                try await SMTPClient(settings: Self.settings(server)).send(OutgoingMail(to: "ola@example.no", subject: "S", body: "B"))
            }
            #expect(failure?.code == .tls)
            #expect(!server.events.contains("MAIL"))
        }
    }

    @Test func nothingListeningIsUnreachableAtOnce() async throws {
        let settings = SMTPSettings(host: "127.0.0.1", port: 1, from: Self.from, timeout: .seconds(20))
        let failure = await Self.failure {
            try await SMTPClient(settings: settings).send(OutgoingMail(to: "ola@example.no", subject: "S", body: "B"))
        }
        // Refused, not waited out: a timeout would be `.timeout` (no wall-clock
        // bound here; a busy CI machine is slow, not wrong).
        #expect(failure?.code == .unreachable)
    }

    @Test func aServerThatNeverAnswersTimesOut() async throws {
        var options = SMTPTestServer.Options()
        options.mute = true
        try await SMTPTestServer.with(options) { server in
            let start = ContinuousClock.now
            let failure = await Self.failure {
                try await SMTPClient(settings: Self.settings(server) { $0.timeout = .milliseconds(700) })
                    .send(OutgoingMail(to: "ola@example.no", subject: "S", body: "B"))
            }
            #expect(failure?.code == .timeout)
            let elapsed = ContinuousClock.now - start
            #expect(elapsed >= .milliseconds(600) && elapsed < .seconds(10))
        }
    }

    @Test func authPlainLogsInOverTLS() async throws {
        var options = SMTPTestServer.Options()
        options.credentials = ("samrom", "et hemmelig passord æ")
        try await SMTPTestServer.with(options) { server in
            // Without credentials the server refuses MAIL FROM (530).
            let anonymous = await Self.failure {
                try await SMTPClient(settings: Self.settings(server)).send(OutgoingMail(to: "ola@example.no", subject: "S", body: "B"))
            }
            #expect(anonymous?.code == .refused(530))
            // A wrong password: AUTH refused (535).
            let wrong = await Self.failure {
                try await SMTPClient(settings: Self.settings(server) { $0.username = "samrom"; $0.password = "feil" })
                    .send(OutgoingMail(to: "ola@example.no", subject: "S", body: "B"))
            }
            #expect(wrong?.code == .refused(535))
            let mails = try server.mails
            #expect(mails.isEmpty)

            try await SMTPClient(settings: Self.settings(server) { $0.username = "samrom"; $0.password = "et hemmelig passord æ" })
                .send(OutgoingMail(to: "ola@example.no", subject: "Innlogget", body: "B"))
            let received = try #require(try server.mails.first)
            #expect(received.authenticated && received.tls)
            #expect(received.subject == "Innlogget")
        }
    }

    @Test func aRefusedRecipientIsRefused550AndNothingIsSent() async throws {
        var options = SMTPTestServer.Options()
        options.refuse = "finnes.ikke@example.no"
        try await SMTPTestServer.with(options) { server in
            let failure = await Self.failure {
                try await SMTPClient(settings: Self.settings(server)).send(OutgoingMail(to: "finnes.ikke@example.no", subject: "S", body: "B"))
            }
            #expect(failure?.code == .refused(550))
            // The failure's message never names the address (nor quotes the server, which does).
            #expect(failure.map { !$0.message.contains("finnes") && !$0.description.contains("example.no") } == true)
            #expect(!server.events.contains("DATA"))
            let mails = try server.mails
            #expect(mails.isEmpty)
        }
    }

    @Test func aPlaintextReplySlippedInAfterSTARTTLSIsRefused() async throws {
        var options = SMTPTestServer.Options()
        options.inject = true
        try await SMTPTestServer.with(options) { server in
            let failure = await Self.failure {
                try await SMTPClient(settings: Self.settings(server)).send(OutgoingMail(to: "ola@example.no", subject: "S", body: "B"))
            }
            // The 220 and the slipped-in reply come in one packet, so the client sees both
            // before TLS: a protocol error. (Were they ever split, the plaintext would
            // break the TLS handshake instead.) Either way nothing is sent.
            #expect(failure?.code == .protocolError || failure?.code == .tls)
            #expect(!server.events.contains("MAIL") && !server.events.contains("AUTH"))
        }
    }

    @Test(arguments: [
        "ola@example.no\r\nBcc: alle@example.no", "ola@example.no\nBcc: x@example.no", "ola@example.no,per@example.no",
        "Ola <ola@example.no>", "ola @example.no", "ola@example.no>", "<ola@example.no", "ola@@example.no", "ola",
        "ola@localhost", "\"ola\"@example.no", "ola@exa mple.no", ".ola@example.no", "ola..n@example.no", "ola@-example.no",
        "ø@example.no", "ola@example.no\0", "", String(repeating: "a", count: 65) + "@example.no",
        "a@" + String(repeating: "b", count: 250) + ".no",
    ])
    func anImplausibleRecipientIsRefusedBeforeConnecting(address: String) async throws {
        #expect(!OutgoingMail.isPlausibleAddress(address))
        // Port 1: a connection would be refused, but none is tried.
        let settings = SMTPSettings(host: "127.0.0.1", port: 1, from: Self.from)
        let failure = await Self.failure {
            try await SMTPClient(settings: settings).send(OutgoingMail(to: address, subject: "S", body: "B"))
        }
        #expect(failure?.code == .invalidMail)
    }

    @Test(arguments: ["Hei\r\nBcc: alle@example.no", "Hei\nBcc: x@example.no", "Hei\rX-Evil: 1", "Tab\there", "Nul\0", "Line\u{2028}sep"])
    func aSubjectWithControlCharactersIsRefusedBeforeConnecting(subject: String) async throws {
        #expect(!OutgoingMail.isSafeSubject(subject))
        try await SMTPTestServer.with { server in
            let failure = await Self.failure {
                try await SMTPClient(settings: Self.settings(server)).send(OutgoingMail(to: "ola@example.no", subject: subject, body: "B"))
            }
            #expect(failure?.code == .invalidMail)
            #expect(server.events.isEmpty)
        }
    }

    @Test func plausibleAddresses() {
        for address in [
            "ola@example.no", "kari.nordmann@testby.kommune.no", "o'brien+samrom@sub.example.co.uk", "x_y-z@xn--b-5ga.no",
            "a@b.cd",
        ] {
            #expect(OutgoingMail.isPlausibleAddress(address), "\(address)")
        }
    }

    @Test func anImplausibleFromOrEHLONameIsRefusedBeforeConnecting() async {
        for settings in [
            SMTPSettings(host: "127.0.0.1", port: 1, from: "samrom@testby\r\nBcc: x@example.no"),
            SMTPSettings(host: "127.0.0.1", port: 1, from: Self.from, heloName: "samrom.no\r\nMAIL FROM:<x@example.no>"),
            SMTPSettings(host: "127.0.0.1", port: 1, from: Self.from, heloName: ""),
        ] {
            let failure = await Self.failure {
                try await SMTPClient(settings: settings).send(OutgoingMail(to: "ola@example.no", subject: "S", body: "B"))
            }
            #expect(failure?.code == .invalidMail)
        }
    }

    @Test func quotedPrintableStaysWithin76CharactersAndDotStuffingDoublesLeadingDots() {
        let encoded = SMTPMessage.quotedPrintable(String(repeating: "æ", count: 100) + "\n" + String(repeating: "a ", count: 60) + " ")
        #expect(encoded.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 76 })
        #expect(encoded.hasSuffix("=20"))
        #expect(SMTPMessage.dataBlock("A: b\r\n\r\n.x\r\n..\r\n.\r\nend\r\n") == "A: b\r\n\r\n..x\r\n...\r\n..\r\nend\r\n.\r\n")
        #expect(SMTPMessage.rfc5322Date(Date(timeIntervalSince1970: 1_796_720_400)) == "Tue, 08 Dec 2026 09:00:00 +0000")
    }
}
