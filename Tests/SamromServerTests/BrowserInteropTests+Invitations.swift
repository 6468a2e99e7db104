import Foundation
import SamromCore
import SamromTestSupport
import Testing

extension BrowserInteropTests {
    /// Booked times, invitations, the lobby's opening time and the figures in
    /// real headless Chromium (Tests/Browser/invitation_flow.py). The server's
    /// clock stands at Tuesday 8 December 2026, 09:40 in Oslo, and each
    /// browser's clock is set to it (running on) in Oslo's time zone; the
    /// deltaker's to twelve seconds before the lobby opens at 09:45.
    ///
    /// The veileder books one consultation today at 10:00 (30 minutes), one
    /// tomorrow at 13:30 (45 minutes) and one without a time, and sees them
    /// under «I dag», «Kommende» and «Uten tidspunkt» with time and length (a
    /// time without a date refused on the page). Right after creating, the
    /// invitation panel has the link: the veileder's calendar copy (the title,
    /// no link) and the deltaker's with «Ta med lenken» (the link, no title)
    /// are calendars with the booked DTSTART; the SMS text carries the time
    /// and the link and is copied; a reminder too. No e-mail form without
    /// SMTP. Changing tomorrow's time and removing it move it in the list.
    /// After a reload the page knows no link: the invitation says why and
    /// makes a new one. The deltaker's page, before the lobby opens, says
    /// «Samtalen starter tirsdag 8. desember kl. 10:00» and when the waiting
    /// room opens, retries on «Prøv igjen», offers the device check; once the
    /// test moves the server's clock past the opening, the page knocks by
    /// itself, and the lobby says when it starts. Let in, the veileder's page
    /// says `call-media` video, then sound only when its camera goes off. The
    /// veileder's «Mine tall», and the leder (taken from the login to
    /// /leder/) sees last month by default, this month's figures with
    /// «under 5», and the CSV. axe-clean in both languages; the README's
    /// screenshots.
    @Test(.enabled(if: available, "runs under `make test`: Chromium in a loopback-only network namespace"))
    func aBookedConsultationIsInvitedToAndOpensOnTime() async throws {
        let start = try #require(ISO8601DateFormatter().date(from: "2026-12-08T08:40:00Z"))
        let opens = try #require(ISO8601DateFormatter().date(from: "2026-12-08T08:45:00Z"))
        let clock = TestClock(start)
        try await withServer(clock: clock) { server in
            try await server.addUser("kari", role: .veileder, password: "a good long password")
            try await server.addUser("lena", role: .leder, password: "the leader's long password")
            let script = try BrowserScript("invitation_flow.py", [
                "https://localhost:\(server.port)", "kari", "a good long password", "lena", "the leader's long password",
                String(Int(clock.now.timeIntervalSince1970 * 1000)), String(Int((opens.timeIntervalSince1970 - 12) * 1000)),
            ])

            let first = try await script.next()
            #expect(first["createProblem"] as? String == "Skriv både dato og klokkeslett, eller la begge stå tomme.", "\(first["createProblem"] ?? "")")
            #expect((first["createdStatus"] as? String)?.contains("Samtalen er laget for tirsdag 8. desember kl. 10:00") == true, "\(first["createdStatus"] ?? "")")
            let overview = try #require(first["overview"] as? [String: Any])
            #expect(overview["headings"] as? [String] == ["I dag", "Kommende", "Uten tidspunkt"], "\(overview)")
            let today = try #require((overview["today"] as? [String])?.first)
            #expect(today.contains("Frisklivssamtale") && today.contains("kl. 10:00–10:30 (30 min)"), "\(today)")
            #expect(today.contains("venterommet åpner kl. 09:45"), "\(today)")
            let upcoming = try #require((overview["upcoming"] as? [String])?.first)
            #expect(upcoming.contains("Oppfølging i morgen") && upcoming.contains("onsdag 9. desember kl. 13:30 (45 min)"), "\(upcoming)")
            #expect((overview["others"] as? [String])?.count == 1 && (overview["others"] as? [String])?.first?.contains("Uten avtalt tid") == true, "\(overview)")

            let panel = try #require(first["panel"] as? [String: Any])
            #expect(panel["heading"] as? String == "Invitasjon til «Frisklivssamtale»", "\(panel)")
            #expect(panel["when"] as? String == "Samtalen er tirsdag 8. desember kl. 10:00, 30 minutter.", "\(panel)")
            #expect(panel["linkKnown"] as? Bool == true && panel["linkUnknown"] as? Bool == false && panel["includeChecked"] as? Bool == false, "\(panel)")
            // Without SMTP there is no e-mail form to see.
            #expect(panel["emailShown"] as? Bool == false, "\(panel)")
            let own = try Self.calendar(panel["own"])
            #expect(own.starts, "\(own.text)")
            #expect(own.text.contains("Frisklivssamtale") && !own.text.contains("/j/#"), "the veileder's copy: the title, no link: \(own.text)")
            let deltaker = try Self.calendar(panel["deltakerWithLink"])
            #expect(deltaker.starts && !deltaker.text.contains("Frisklivssamtale"), "the deltaker's copy has no title: \(deltaker.text)")
            let sms = try #require(panel["sms"] as? String)
            guard let linkStart = sms.range(of: "/j/"), let hash = sms[linkStart.upperBound...].firstIndex(of: "#") else {
                throw TestFailure("no link in the SMS: \(sms)")
            }
            let token = String(sms[sms.index(after: hash)...].prefix { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
            #expect(deltaker.text.contains(token), "the deltaker's copy carries the link when ticked: \(deltaker.text)")
            #expect(sms.contains("8. desember") && (sms.contains("10.00") || sms.contains("10:00")) && !sms.contains("Frisklivssamtale"), "\(sms)")
            #expect(panel["clipboard"] as? String == sms && panel["copyStatus"] as? String == "Teksten er kopiert.", "\(panel)")
            #expect((panel["reminder"] as? String)?.isEmpty == false && panel["reminder"] as? String != sms, "\(panel["reminder"] ?? "")")
            let english = try #require(panel["english"] as? [String: String])
            #expect(english["#today-heading"] == "Today" && english["#upcoming-heading"] == "Coming", "\(english)")
            #expect(english["#invitation-when"] == "The consultation is Tuesday 8 December at 10:00, 30 minutes.", "\(english)")

            let change = try #require(first["change"] as? [String: Any])
            #expect(change["heading"] as? String == "Tidspunkt for «Oppfølging i morgen»", "\(change)")
            #expect(change["filled"] as? [String] == ["2026-12-09", "13:30", "45"], "\(change)")
            #expect((change["status"] as? String)?.contains("Tidspunktet er lagret: onsdag 9. desember kl. 14:00.") == true, "\(change)")
            #expect((change["upcoming"] as? [String])?.first?.contains("onsdag 9. desember kl. 14:00 (60 min)") == true, "\(change)")
            #expect((change["removedStatus"] as? String)?.contains("Tidspunktet er fjernet.") == true, "\(change)")
            let removed = try #require(change["afterRemove"] as? [String: Any])
            #expect(removed["headings"] as? [String] == ["I dag", "Uten tidspunkt"] && (removed["others"] as? [String])?.count == 2, "\(removed)")

            let later = try #require(first["later"] as? [String: Any])
            #expect(later["linkKnown"] as? Bool == false && (later["linkUnknown"] as? String)?.hasPrefix("Samrom tar ikke vare på lenken") == true, "\(later)")
            let withoutLink = try Self.calendar(later["deltakerWithoutLink"], startsAt: "20261209T123000Z", local: "20261209T133000")
            #expect(withoutLink.starts && !withoutLink.text.contains("/j/"), "\(withoutLink.text)")
            #expect(later["includeChecked"] as? Bool == true && (later["newLinkStatus"] as? String)?.hasPrefix("En ny lenke er laget") == true, "\(later)")
            #expect((later["storage"] as? [String: [String]])?["local"]?.allSatisfy { $0 == "samrom.language" } == true, "\(later["storage"] ?? "")")

            let early = try #require(first["tooEarly"] as? [String: Any])
            #expect(early["heading"] as? String == "Det er ikke tid ennå", "\(early)")
            #expect(early["starts"] as? String == "Samtalen starter tirsdag 8. desember kl. 10:00.", "\(early)")
            #expect(early["opens"] as? String == "Venterommet åpner kl. 09:45. Siden prøver å komme inn av seg selv da.", "\(early)")
            #expect(early["check"] as? Bool == true && early["retry"] as? Bool == true && early["focus"] as? String == "H1", "\(early)")
            #expect((early["status"] as? String)?.contains("Samtalen starter tirsdag 8. desember kl. 10:00.") == true, "\(early)")
            #expect((early["retried"] as? String)?.contains("Venterommet er ikke åpent ennå.") == true, "\(early)")
            #expect(early["devicesHeading"] as? String == "Ser og hører vi deg?", "\(early)")
            let earlyEnglish = try #require(early["english"] as? [String: String])
            #expect(earlyEnglish["#too-early-starts"] == "The conversation starts Tuesday 8 December at 10:00.", "\(earlyEnglish)")
            #expect(first["axe"] as? [String] == [], "\(first["axe"] ?? "")")

            // The lobby opens at 09:45 in Oslo.
            clock.advance(by: 6 * 60)
            try script.send(["advanced": true])
            let last = try await script.next()
            let lobby = try #require(last["lobby"] as? [String: Any])
            #expect(lobby["starts"] as? String == "Samtalen starter tirsdag 8. desember kl. 10:00.", "\(lobby)")
            #expect(last["callMedia"] as? [String] == ["true", "false"], "\(last["callMedia"] ?? "")")
            let mine = try #require(last["mine"] as? [String: Any])
            #expect(mine["heading"] as? String == "Mine tall" && mine["month"] as? String == "2026-11" && (mine["rows"] as? Int ?? 0) > 0, "\(mine)")
            let figures = try #require(last["figures"] as? [String: Any])
            #expect(figures["defaultMonth"] as? String == "2026-11" && figures["defaultCaption"] as? String == "Tall for november 2026", "\(figures)")
            #expect((figures["privacy"] as? String)?.contains("Tall under 5 vises som «under 5»") == true, "\(figures)")
            #expect(figures["caption"] as? String == "Tall for desember 2026", "\(figures)")
            let rows = try #require(figures["rows"] as? [[String]])
            #expect(!rows.isEmpty && rows.contains { $0.last == "under 5" }, "\(rows)")
            #expect(rows.allSatisfy { $0.last.map { $0 == "under 5" || $0 == "–" || Int($0) != nil } == true }, "\(rows)")
            #expect(figures["csvHref"] as? String == "/api/stats?month=2026-12&format=csv&lang=nb", "\(figures)")
            let csv = try #require((figures["csv"] as? [String: String])?.values.first, "no CSV downloaded: \(figures["csv"] ?? "")")
            #expect(csv.contains("under 5"), "\(csv)")
            let figuresEnglish = try #require(figures["english"] as? [String: String])
            #expect(figuresEnglish["[data-view=figures] h1"] == "Figures for the centre" && figuresEnglish["#stats-csv"] == "Download CSV", "\(figuresEnglish)")
            #expect(last["axe"] as? [String] == [], "\(last["axe"] ?? "")")
            #expect(last["resourceHosts"] as? [String] == ["localhost:\(server.port)"])
            #expect(await script.finish() == 0)

            // What the server recorded: the calendar files, the figures read, the call's video.
            let entries = try await server.auditEntries()
            let actions = entries.map(\.event.action.rawValue)
            #expect(actions.contains("invitation.calendar"), "\(actions)")
            #expect(actions.filter { $0 == "stats.read" }.count >= 3, "\(actions)")
            let media = entries.filter { $0.event.action.rawValue == "room.media" }.map(\.event.reason)
            #expect(media == ["video", "sound only"], "\(media)")
        }
    }

    /// A downloaded calendar file (the one file of a download), unfolded
    /// (RFC 5545 3.1), and whether it starts at the booked time: UTC, or
    /// Oslo's local time with its TZID.
    static func calendar(_ value: Any?, startsAt: String = "20261208T090000Z", local: String = "20261208T100000") throws -> (text: String, starts: Bool) {
        let files = try #require(value as? [String: String], "nothing downloaded: \(value ?? "nil")")
        #expect(files.count == 1 && files.keys.allSatisfy { $0.hasSuffix(".ics") }, "\(files.keys)")
        let text = try #require(files.values.first).replacingOccurrences(of: "\r\n ", with: "").replacingOccurrences(of: "\r\n\t", with: "")
        let lines = text.components(separatedBy: .newlines).map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.first == "BEGIN:VCALENDAR" && lines.contains("BEGIN:VEVENT") && lines.contains("END:VCALENDAR"), "\(text)")
        let start = lines.first { $0.hasPrefix("DTSTART") } ?? ""
        return (text, start == "DTSTART:\(startsAt)" || (start.hasPrefix("DTSTART;TZID=") && start.hasSuffix(":\(local)")))
    }
}
