import Foundation
import Testing
@testable import SamromCore

/// Booked times, the words of invitations and the calendar file's syntax,
/// and the veileder's media report: value types, no I/O.
@Suite struct InvitationTextTests {
    static let oslo = TimeZone(identifier: "Europe/Oslo")!
    /// 2026-12-08 09:00 UTC, a Tuesday, 10.00 in Oslo.
    static let start = Date(timeIntervalSince1970: 1_796_720_400)

    @Test func aBookingMustFitTheConsultationsLongestValidity() throws {
        let created = Self.start.addingTimeInterval(-2 * 86_400)
        let expiry = created.addingTimeInterval(14 * 86_400)
        let (booking, stretched) = try Booking.validated(
            startsAt: Self.start, minutes: nil, createdAt: created, expiresAt: expiry, now: created)
        #expect(booking.minutes == 30 && stretched == expiry, "inside the validity nothing changes")
        // Later than the default 14 days: the expiry grows to a day past the end.
        let late = created.addingTimeInterval(40 * 86_400)
        let (_, grown) = try Booking.validated(startsAt: late, minutes: 60, createdAt: created, expiresAt: expiry, now: created)
        #expect(grown == late.addingTimeInterval(3600 + 86_400))
        // Near the end of 84 days it grows no further than 84 days.
        let last = created.addingTimeInterval(84 * 86_400 - 3600)
        let (_, capped) = try Booking.validated(startsAt: last, minutes: 60, createdAt: created, expiresAt: expiry, now: created)
        #expect(capped == created.addingTimeInterval(84 * 86_400))
        for (start, minutes) in [
            (created.addingTimeInterval(84 * 86_400), 30), (created.addingTimeInterval(-3601), 30), (Self.start, 4), (Self.start, 241),
        ] {
            #expect(throws: Booking.Refusal.self) {
                try Booking.validated(startsAt: start, minutes: minutes, createdAt: created, expiresAt: expiry, now: created)
            }
        }
        // The lobby: open from the window before the start, always without a booking.
        #expect(!Booking.lobbyIsOpen(booking, window: 900, at: Self.start.addingTimeInterval(-901)))
        #expect(Booking.lobbyIsOpen(booking, window: 900, at: Self.start.addingTimeInterval(-900)))
        #expect(Booking.lobbyIsOpen(nil, window: 900, at: .distantPast))
        #expect(Booking(stored: 1, minutes: nil) == nil && Booking(stored: nil, minutes: 30) == nil)
    }

    @Test func timesAreSpokenInTheCentresZoneAcrossSummerTime() {
        let time = SpokenTime(timeZone: Self.oslo)
        #expect(time.moment(Self.start, .nb) == "tirsdag 8. desember 2026 kl. 10.00")
        #expect(time.moment(Self.start, .en) == "Tuesday 8 December 2026 at 10:00")
        // 2027-03-28 is the last Sunday of March: 01:00 UTC is 03.00 summer time.
        let spring = Date(timeIntervalSince1970: 1_806_195_600)
        #expect(time.moment(spring, .nb) == "søndag 28. mars 2027 kl. 03.00")
        #expect(time.moment(spring.addingTimeInterval(-1), .nb) == "søndag 28. mars 2027 kl. 01.59")
    }

    @Test func invitationsSayWhenAndHowLongAndNothingElse() {
        let time = SpokenTime(timeZone: Self.oslo)
        let booking = Booking(startsAt: Self.start, minutes: 45)
        let link = "https://samrom.testby.kommune.no/j/#mJKHC2rOZNOZZumZzZnlt8SbP3MyYETfuEgnKYBQQsc"
        let invitation = Invitation(kind: .invitation, role: .deltaker, booking: booking, joinURL: link, lobbyWindowMinutes: 15, language: .nb)
        #expect(invitation.subject(time) == "Avtalt samtale tirsdag 8. desember 2026 kl. 10.00")
        #expect(invitation.sms(time) == "Du har en avtalt videosamtale tirsdag 8. desember 2026 kl. 10.00 (45 min). Åpne lenken litt før: \(link)")
        #expect(invitation.body(time).contains("\n\(link)\n") && invitation.body(time).contains("Europe/Oslo"))
        var reminder = invitation
        reminder.kind = .reminder
        reminder.joinURL = nil
        reminder.role = .tolk
        reminder.language = .en
        #expect(reminder.subject(time) == "Reminder: your appointment on Tuesday 8 December 2026 at 10:00")
        #expect(reminder.sms(time) == "Reminder: you are booked as interpreter for a video call on Tuesday 8 December 2026 at 10:00 (45 min). Use the link you were given.")
        #expect(!reminder.body(time).contains("https://"))
    }

    @Test func calendarLinesAreEscapedAndFoldedWithoutSplittingACharacter() {
        #expect(CalendarFile.escaped("a;b,c\\d\ne\r\u{7}f") == "a\\;b\\,c\\\\d\\ne f".replacingOccurrences(of: " ", with: ""))
        let line = "DESCRIPTION:" + String(repeating: "æøå", count: 40)
        let folded = CalendarFile.folded(line)
        let lines = folded.components(separatedBy: "\r\n")
        #expect(lines.count > 1)
        #expect(lines.allSatisfy { $0.utf8.count <= 75 })
        #expect(lines.dropFirst().allSatisfy { $0.hasPrefix(" ") })
        #expect(lines.enumerated().map { $0.offset == 0 ? $0.element : String($0.element.dropFirst()) }.joined() == line)
        #expect(CalendarFile.utc(Self.start) == "20261208T090000Z")

        let consultation = Consultation(
            id: ConsultationID(rawValue: "7f14QGE6RccA1oCVrjP05g"), owner: AccountID(rawValue: 1), title: "Hjerte; uke 1",
            createdAt: Self.start, expiresAt: Self.start, booking: Booking(startsAt: Self.start, minutes: 30))
        let file = CalendarFile.copy(
            .deltaker, of: consultation, booking: consultation.booking!, joinURL: nil, role: .deltaker, overviewURL: "https://h/",
            host: "h", lobbyWindowMinutes: 15, language: .nb, time: SpokenTime(timeZone: Self.oslo), now: Self.start)
        let text = file.text()
        #expect(text.hasPrefix("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") && text.hasSuffix("END:VCALENDAR\r\n"))
        #expect(!text.contains("Hjerte") && !text.contains("7f14QGE6RccA1oCVrjP05g"), "no title, no id")
        #expect(text.contains("DTSTART:20261208T090000Z\r\nDTEND:20261208T093000Z"))
        #expect(text.contains("TRIGGER:-PT15M"))
    }

    @Test func onlyTheVeilederReportsTheMediaAndOnlyChangesAreRecorded() throws {
        var room = Room(consultation: ConsultationID(rawValue: "AAAAAAAAAAAAAAAAAAAAAA"))
        let veileder = ConnectionID(1)
        _ = room.veilederArrives(
            connection: veileder, proposed: ParticipantID(rawValue: "p-v"), resume: TokenHash(bytes: Array(repeating: 1, count: 32)),
            now: Self.start)
        let first = try room.reportMedia(video: true, by: veileder)
        guard case .audit(let action, _, let outcome, let reason)? = first.first, first.count == 1 else {
            Issue.record("expected one audit entry, got \(first)")
            return
        }
        #expect(action == .media && outcome == .allowed && CallMedia(auditReason: reason) == .video)
        #expect(try room.reportMedia(video: true, by: veileder).isEmpty, "the same again is not news")
        #expect(try room.reportMedia(video: false, by: veileder).count == 1)
        #expect(throws: SignalError(.forbidden, "only the veileder may do that")) {
            try room.reportMedia(video: true, by: ConnectionID(2))
        }
        #expect(CallMedia(auditReason: "sound only") == .soundOnly && CallMedia(auditReason: "audio") == nil)
    }
}
