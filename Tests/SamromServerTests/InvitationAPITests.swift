import Foundation
import NIOHTTP1
import NIOWebSocket
import SamromCore
@testable import SamromServer
import SamromTestSupport
import Testing

/// Booked times, the lobby's opening time, calendar files (read back by a
/// real parser, Python's icalendar), the invitation texts, and e-mail
/// through a real SMTP server (aiosmtpd, STARTTLS) — with every refusal.
@Suite struct InvitationAPITests {
    /// 2026-12-08 09:00 UTC = 10.00 in Oslo (a Tuesday).
    static let start = Date(timeIntervalSince1970: 1_796_720_400)
    static let startText = "2026-12-08T10:00:00+01:00"

    static func veileder(_ server: LiveServer, _ name: String = "kari") async throws -> HTTPTestClient {
        try await server.addUser(name, role: .veileder)
        let http = HTTPTestClient(server)
        try await http.login(name)
        return http
    }

    static func booked(_ http: HTTPTestClient, title: String = "Oppfølging etter hjerteinfarkt", minutes: Int = 45) async throws
        -> (id: String, joinUrl: String)
    {
        let reply = try await http.request(
            .POST, "/api/consultations", body: #"{"title":"\#(title)","startsAt":"\#(startText)","minutes":\#(minutes)}"#)
        guard reply.status == 201, let id = reply.string("id"), let url = reply.string("joinUrl") else {
            throw TestFailure("create failed: \(reply.status) \(reply.body)")
        }
        return (id, url)
    }

    /// The test clock two days before the booked start.
    static func clock() -> TestClock { TestClock(start.addingTimeInterval(-2 * 86_400)) }

    @Test func aBookedTimeIsListedMovedAndRemoved() async throws {
        let clock = Self.clock()
        try await withServer(clock: clock) { server in
            let http = try await Self.veileder(server)
            let (id, _) = try await Self.booked(http)
            let list = try await http.request(.GET, "/api/consultations")
            guard case .array(let items)? = list.json["consultations"], case .object(let item)? = items.first else {
                throw TestFailure("no list: \(list.body)")
            }
            #expect(item["startsAt"] == .string("2026-12-08T09:00:00.000Z"))
            #expect(item["minutes"] == .int(45))
            #expect(item["opensAt"] == .string("2026-12-08T08:45:00.000Z"))
            // Valid at least a day past the booked end, although 14 days is the default.
            guard case .string(let expiresText)? = item["expiresAt"], let expires = AuditEntry.parseTimestamp(expiresText) else {
                throw TestFailure("no expiry: \(item)")
            }
            #expect(expires.timeIntervalSince(clock.now) >= 14 * 86_400 - 1)

            let moved = try await http.request(.PUT, "/api/consultations/\(id)/booking", body: #"{"startsAt":"2026-12-09T13:30:00Z"}"#)
            #expect(moved.status == 200, "\(moved.body)")
            #expect(moved.string("startsAt") == "2026-12-09T13:30:00.000Z")
            #expect(moved.json["minutes"] == .int(45), "a moved time keeps its length")
            let removed = try await http.request(.DELETE, "/api/consultations/\(id)/booking")
            #expect(removed.status == 200)
            #expect(removed.json["startsAt"] == nil && removed.json["opensAt"] == nil && removed.json["minutes"] == nil, "\(removed.body)")

            // A booking beyond 84 days stretches nothing: it is refused; so
            // are a start in the past, a silly length, and not a time.
            for body in [
                #"{"startsAt":"2027-04-01T10:00:00Z"}"#, #"{"startsAt":"2026-12-01T10:00:00Z"}"#,
                #"{"startsAt":"2026-12-08T10:00:00Z","minutes":4}"#, #"{"startsAt":"2026-12-08T10:00:00Z","minutes":241}"#,
                #"{"startsAt":"tirsdag kl 10"}"#, #"{"startsAt":"2026-12-08 10:00"}"#, #"{"minutes":30}"#, #"{"startsAt":12}"#,
            ] {
                let refused = try await http.request(.PUT, "/api/consultations/\(id)/booking", body: body)
                #expect(refused.status == 400 && refused.errorCode == "bad-field", "\(body): \(refused.status) \(refused.body)")
            }
            let noStart = try await http.request(.POST, "/api/consultations", body: #"{"minutes":30}"#)
            #expect(noStart.status == 400 && noStart.errorCode == "bad-field")
            // Someone else's consultation is not found, and the attempt is logged.
            let other = try await Self.veileder(server, "ola")
            let foreign = try await other.request(.PUT, "/api/consultations/\(id)/booking", body: #"{"startsAt":"\#(Self.startText)"}"#)
            #expect(foreign.status == 404)
            let entries = try await server.auditEntries().filter { $0.event.action == .consultationBooking }
            #expect(entries.map(\.event.outcome) == [.allowed, .allowed, .denied])

            // An ended consultation takes no new time and sends no invitation.
            #expect(try await http.request(.POST, "/api/consultations/\(id)/end").status == 200)
            let late = try await http.request(.PUT, "/api/consultations/\(id)/booking", body: #"{"startsAt":"\#(Self.startText)"}"#)
            #expect(late.status == 409 && late.errorCode == "ended", "\(late.body)")
            let invitation = try await http.request(.POST, "/api/consultations/\(id)/invitation", body: "{}")
            #expect(invitation.status == 409 && invitation.errorCode == "ended", "\(invitation.body)")
        }
    }

    @Test func linksKnockOnlyOnceTheLobbyOpens() async throws {
        let clock = Self.clock()
        try await withServer(clock: clock) { server in
            let http = try await Self.veileder(server)
            let (id, joinUrl) = try await Self.booked(http)
            guard let tokenPart = joinUrl.split(separator: "#").last else { throw TestFailure("no token in \(joinUrl)") }
            let token = String(tokenPart)
            // A minute before the lobby opens (15 minutes before the start).
            clock.advance(by: 2 * 86_400 - 16 * 60)
            let early = try await WSTestClient.connect(server)
            early.send(["type": .string("hello"), "v": .int(2), "token": .string(token)])
            let refusal = try await early.expect("error")
            #expect(refusal.string("code") == "too-early")
            #expect(refusal.string("startsAt") == "2026-12-08T09:00:00.000Z")
            #expect(refusal.string("opensAt") == "2026-12-08T08:45:00.000Z")
            #expect(try await early.closeCode() == .normalClosure)
            // The veileder may open the room any time (logged in again: two days passed).
            try await http.login("kari")
            let veileder = try await CallParticipant.veileder(
                port: server.port, tls: server.tlsConfiguration, cookie: http.cookie!, consultation: id)
            #expect(veileder.welcome.object("booking")?.string("startsAt") == "2026-12-08T09:00:00.000Z")
            clock.advance(by: 60)
            let onTime = try await CallParticipant.knock(port: server.port, tls: server.tlsConfiguration, token: token, consultation: id)
            #expect(onTime.welcome.object("booking")?["minutes"] == .int(45))
            #expect(onTime.welcome.object("consultation")?["title"] == nil, "the title is the veileder's")
            let denied = try await server.auditEntries().filter { $0.event.action == .join && $0.event.outcome == .denied }
            #expect(denied.map(\.event.reason) == ["before the lobby opens"])
        }
    }

    @Test func calendarFilesAreReadByARealParser() async throws {
        let clock = Self.clock()
        try await withServer(clock: clock) { server in
            let http = try await Self.veileder(server)
            let (id, joinUrl) = try await Self.booked(http)
            // The veileder's own copy: the title, the overview, no link.
            let own = try await http.request(.GET, "/api/consultations/\(id)/calendar.ics")
            #expect(own.status == 200, "\(own.body)")
            #expect(own.headers.first(name: "Content-Type") == "text/calendar; charset=utf-8")
            #expect(own.headers.first(name: "Content-Disposition")?.hasPrefix("attachment") == true)
            let mine = try await Self.read(own.body)
            #expect(mine.event["start"] as? String == "2026-12-08T09:00:00+00:00")
            #expect(mine.event["end"] as? String == "2026-12-08T09:45:00+00:00")
            #expect(mine.event["summary"] as? String == "Oppfølging etter hjerteinfarkt (Samrom)")
            #expect((mine.event["description"] as? String)?.contains("https://127.0.0.1:\(server.port)/") == true)
            #expect(!own.body.contains(joinUrl.split(separator: "#").last!))
            #expect(mine.event["alarms"] as? [String] == ["-PT15M"])
            #expect((mine.event["uid"] as? String)?.contains(id) == false, "the UID is not the consultation's id")

            // The deltaker's copy: no title, no health content, no link unless given.
            let theirs = try await http.request(.GET, "/api/consultations/\(id)/calendar.ics?copy=deltaker")
            let deltaker = try await Self.read(theirs.body)
            #expect(deltaker.event["summary"] as? String == "Avtalt videosamtale")
            #expect(!theirs.body.contains("hjerte") && !theirs.body.contains("/j/"))
            #expect((deltaker.event["description"] as? String)?.contains("tirsdag 8. desember 2026 kl. 10.00") == true)
            #expect(deltaker.event["uid"] as? String == mine.event["uid"] as? String)

            // With the link the page still holds: checked, then in the
            // description (folded over lines, read back whole) and as URL.
            let linked = try await http.request(
                .POST, "/api/consultations/\(id)/calendar.ics", body: #"{"copy":"deltaker","joinUrl":"\#(joinUrl)","language":"en"}"#)
            #expect(linked.status == 200, "\(linked.body)")
            let withLink = try await Self.read(linked.body)
            #expect(withLink.event["url"] as? String == joinUrl)
            #expect((withLink.event["description"] as? String)?.contains(joinUrl) == true)
            #expect((withLink.event["description"] as? String)?.contains("Tuesday 8 December 2026 at 10:00") == true)
            #expect(withLink.longestLine <= 75 && withLink.crlf)

            // A link of another consultation, a made-up one, a foreign host: refused.
            let (_, otherUrl) = try await Self.booked(http, title: "Annen")
            for bad in [otherUrl, "https://127.0.0.1:\(server.port)/j/#" + String(repeating: "A", count: 43), "https://evil.example/j/#x", "x"] {
                let refused = try await http.request(
                    .POST, "/api/consultations/\(id)/calendar.ics", body: #"{"copy":"deltaker","joinUrl":"\#(bad)"}"#)
                #expect(refused.status == 400 && refused.errorCode == "bad-field", "\(bad): \(refused.body)")
            }
            for query in ["copy=alle", "lang=de"] {
                #expect(try await http.request(.GET, "/api/consultations/\(id)/calendar.ics?\(query)").status == 400, "\(query)")
            }
            // Without a booked time there is nothing to put in a calendar.
            let (plain, _) = try await http.createConsultation()
            let none = try await http.request(.GET, "/api/consultations/\(plain)/calendar.ics")
            #expect(none.status == 409 && none.errorCode == "not-booked")
            let reasons = try await server.auditEntries().filter { $0.event.action == .invitationCalendar }.map(\.event.reason)
            #expect(reasons.prefix(3) == [
                "veileder made the veileder's own calendar file without the link",
                "veileder made the deltaker's calendar file without the link", "veileder made the deltaker's calendar file with the link",
            ])
        }
    }

    @Test func theTextsSayWhenAndNothingAboutWhat() async throws {
        let clock = Self.clock()
        try await withServer(clock: clock) { server in
            let http = try await Self.veileder(server)
            let (id, joinUrl) = try await Self.booked(http)
            let texts = try await http.request(.POST, "/api/consultations/\(id)/invitation", body: #"{"joinUrl":"\#(joinUrl)"}"#)
            #expect(texts.status == 200, "\(texts.body)")
            let sms = try #require(texts.string("sms"))
            #expect(sms == "Du har en avtalt videosamtale tirsdag 8. desember 2026 kl. 10.00 (45 min). Åpne lenken litt før: \(joinUrl)")
            guard case .object(let email)? = texts.json["email"], case .string(let subject)? = email["subject"],
                case .string(let body)? = email["body"]
            else { throw TestFailure("no e-mail text: \(texts.body)") }
            #expect(subject == "Avtalt samtale tirsdag 8. desember 2026 kl. 10.00")
            #expect(body.contains(joinUrl) && body.contains("Venterommet åpner 15 minutter før."))
            #expect(!texts.body.contains("hjerte"))

            // A tolk's link makes a tolk's text; a reminder without a link refers to the one they have.
            let tolk = try await http.request(.POST, "/api/consultations/\(id)/links", body: #"{"role":"tolk"}"#)
            let tolkUrl = try #require(tolk.string("joinUrl"))
            let forTolk = try await http.request(
                .POST, "/api/consultations/\(id)/invitation", body: #"{"joinUrl":"\#(tolkUrl)","language":"en"}"#)
            #expect(forTolk.string("sms")?.hasPrefix("You are booked as interpreter for a video call on Tuesday 8 December 2026 at 10:00") == true)
            let reminder = try await http.request(.POST, "/api/consultations/\(id)/invitation", body: #"{"kind":"reminder"}"#)
            #expect(reminder.string("sms") == "Påminnelse: du har en avtalt videosamtale tirsdag 8. desember 2026 kl. 10.00 (45 min). Bruk lenken du har fått.")
            for body in [#"{"kind":"spam"}"#, #"{"language":"sv"}"#, #"{"joinUrl":7}"#, "[]"] {
                let refused = try await http.request(.POST, "/api/consultations/\(id)/invitation", body: body)
                #expect(refused.status == 400, "\(body): \(refused.body)")
            }
            // No SMTP server configured: no e-mail, said plainly.
            let me = try await http.request(.GET, "/api/me")
            #expect(me.json["invitations"] == .object(["email": .bool(false)]))
            let mail = try await http.request(.POST, "/api/consultations/\(id)/invitation/email", body: #"{"to":"siri@example.no"}"#)
            #expect(mail.status == 409 && mail.errorCode == "no-smtp")
        }
    }

    @Test func anInvitationIsSentThroughARealSMTPServer() async throws {
        try await SMTPTestServer.with { smtp in
            let clock = Self.clock()
            try await withServer(clock: clock, { configuration in
                configuration.smtp = SMTPSettings(
                    host: "127.0.0.1", port: smtp.port, from: "frisklivssentralen@testby.kommune.no",
                    trustRoots: .caFile(TestCertificates.directory.appendingPathComponent("ca.crt").path), timeout: .seconds(20))
            }) { server in
                let http = try await Self.veileder(server)
                let (id, joinUrl) = try await Self.booked(http)
                let me = try await http.request(.GET, "/api/me")
                #expect(me.json["invitations"] == .object(["email": .bool(true)]))
                let sent = try await http.request(
                    .POST, "/api/consultations/\(id)/invitation/email", body: #"{"to":"siri.hansen@example.no","joinUrl":"\#(joinUrl)"}"#)
                #expect(sent.status == 202, "\(sent.body)")
                let reminder = try await http.request(
                    .POST, "/api/consultations/\(id)/invitation/email", body: #"{"to":"siri.hansen@example.no","kind":"reminder"}"#)
                #expect(reminder.status == 202, "\(reminder.body)")
                let mails = try smtp.mails
                #expect(mails.count == 2)
                let first = try #require(mails.first)
                #expect(first.tls && first.rcptTos == ["siri.hansen@example.no"] && first.mailFrom == "frisklivssentralen@testby.kommune.no")
                #expect(first.subject == "Avtalt samtale tirsdag 8. desember 2026 kl. 10.00")
                #expect(first.body.contains(joinUrl) && first.defects.isEmpty)
                #expect(!first.raw.contains("hjerte"))
                #expect(mails.last?.subject.hasPrefix("Påminnelse:") == true && mails.last?.body.contains("/j/") == false)

                // Bad addresses never reach the server; a header injection least of all.
                for to in ["", "siri", "siri@example.no\r\nBcc: x@example.no", "a@b.no, c@d.no", String(repeating: "a", count: 300) + "@x.no"] {
                    let body = try String(decoding: JSONEncoder().encode(["to": to]), as: UTF8.self)
                    let refused = try await http.request(.POST, "/api/consultations/\(id)/invitation/email", body: body)
                    #expect(refused.status == 400 && refused.errorCode == "bad-field", "\(to.debugDescription): \(refused.body)")
                }
                #expect(try smtp.mails.count == 2)

                // Addresses are kept nowhere: not in the log, not on disk.
                let entries = try await server.auditEntries().filter { $0.event.action == .invitationSend }
                #expect(entries.map(\.event.reason) == [
                    "veileder sent an invitation e-mail to the deltaker with the link",
                    "veileder sent a reminder e-mail to the deltaker without the link",
                ])
                #expect(!(try dataDirectoryContains(server, "siri.hansen")))
            }
        }
    }

    @Test func anSMTPServerThatCannotBeReachedIsAnsweredAndLogged() async throws {
        let clock = Self.clock()
        try await withServer(clock: clock, { configuration in
            // A port nothing listens on.
            configuration.smtp = SMTPSettings(host: "127.0.0.1", port: 9, from: "post@testby.kommune.no", timeout: .seconds(5))
        }) { server in
            let http = try await Self.veileder(server)
            let (id, _) = try await Self.booked(http)
            let failed = try await http.request(.POST, "/api/consultations/\(id)/invitation/email", body: #"{"to":"siri@example.no"}"#)
            #expect(failed.status == 502 && failed.errorCode == "smtp-failed", "\(failed.body)")
            let sends = try await server.auditEntries().filter { $0.event.action == .invitationSend }
            let entry = try #require(sends.last)
            #expect(entry.event.outcome == .error && !entry.event.reason.contains("siri"))
        }
    }

    /// The parser's view of a calendar file with one event.
    struct ReadCalendar {
        let event: [String: Any]
        let longestLine: Int
        let crlf: Bool
    }

    static func read(_ text: String) async throws -> ReadCalendar {
        let file = LiveServer.temporaryDirectory().appendingPathExtension("ics")
        try Data(text.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try await Command.run(
            SMTPTestServer.python, [LiveServer.repositoryRoot.appendingPathComponent("Tests/Invitations/read_calendar.py").path, file.path])
        guard result.status == 0, let json = try JSONSerialization.jsonObject(with: result.data) as? [String: Any],
            let events = json["events"] as? [[String: Any]], events.count == 1
        else { throw TestFailure("icalendar could not read it:\n\(text)") }
        return ReadCalendar(event: events[0], longestLine: json["longestLine"] as? Int ?? 0, crlf: json["crlf"] as? Bool ?? false)
    }
}
