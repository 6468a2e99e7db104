import Foundation
import Testing
@testable import SamromCore

/// The anonymous monthly figures on a scripted month: every call is driven
/// through the real `Room`, and its audit actions become the entries
/// `ConsultationSession` records (the veileder as the owner's account, the
/// others as participants), stamped by a clock moved by hand.
@Suite struct MonthlyFiguresTests {
    static let oslo = TimeZone(identifier: "Europe/Oslo")!
    static let utc = TimeZone(identifier: "UTC")!
    static let november = ReportMonth(year: 2026, month: 11)!
    static let a = AccountID(rawValue: 1)
    static let b = AccountID(rawValue: 2)

    /// "2026-11-03 10:00" in Oslo (or another zone).
    static func local(_ text: String, _ zone: TimeZone = oslo) -> Date {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        return formatter.date(from: text)!
    }

    static func utc(_ text: String) -> Date { local(text, utc) }

    static func consultation(
        _ name: String, owner: AccountID = a, booked: String? = nil, minutes: Int = 30, endedAt: Date? = nil,
        expiresAt: Date = local("2026-12-31 00:00")
    ) -> Consultation {
        Consultation(
            id: ConsultationID(rawValue: name), owner: owner, title: nil, createdAt: local("2026-10-01 08:00"), expiresAt: expiresAt,
            endedAt: endedAt, booking: booked.map { Booking(startsAt: local($0), minutes: minutes) })
    }

    // MARK: The script

    /// Consultations' rooms driven by hand, and the audit log they produce.
    struct Script {
        var now: Date
        private(set) var entries: [AuditEntry] = []
        private var rooms: [ConsultationID: Room] = [:]
        private var owners: [ConsultationID: AccountID] = [:]
        /// By consultation and name.
        private var people: [String: Person] = [:]
        private var serial: UInt64 = 0

        struct Person {
            var participant: ParticipantID
            var connection: ConnectionID
            var resume: TokenHash
        }

        init(at local: String = "2026-11-01 08:00") { now = MonthlyFiguresTests.local(local) }

        mutating func at(_ local: String) { now = MonthlyFiguresTests.local(local) }
        mutating func at(utc: String) { now = MonthlyFiguresTests.utc(utc) }
        mutating func wait(minutes: Double) { now += minutes * 60 }

        private mutating func next() -> UInt64 {
            serial += 1
            return serial
        }

        private mutating func token() -> TokenHash {
            let n = next()
            return TokenHash(bytes: (0..<8).map { UInt8(truncatingIfNeeded: n >> ($0 * 8)) } + Array(repeating: 7, count: 24))
        }

        private func key(_ name: String, _ c: Consultation) -> Room.AnnouncedKey {
            Room.AnnouncedKey(publicKey: "pk-\(name)", keyId: "k-\(c.id.rawValue)-\(name)-\(serial)")
        }

        /// The actor `ConsultationSession.actor` records.
        private func actor(_ member: Member, in c: ConsultationID) -> AuditActor {
            member.role == .veileder
                ? AuditActor(kind: .user, id: owners[c]!.description, role: AccountRole.veileder.rawValue)
                : .participant(member.participant, role: member.role)
        }

        private mutating func append(_ action: AuditAction, _ actor: AuditActor, _ c: ConsultationID, _ outcome: AuditOutcome, _ reason: String) {
            let event = AuditEvent(at: now, actor: actor, action: action, consultation: c, outcome: outcome, reason: reason, clientIP: nil)
            entries.append(AuditEntry(seq: UInt64(entries.count + 1), event: event))
        }

        private mutating func record(_ actions: [Room.Action], _ c: ConsultationID) {
            for case .audit(let action, let member, let outcome, let reason) in actions {
                append(action, actor(member, in: c), c, outcome, reason)
            }
        }

        private mutating func room(_ c: Consultation) -> Room {
            owners[c.id] = c.owner
            return rooms[c.id] ?? Room(consultation: c.id)
        }

        /// The veileder opens the consultation (again) and enters the call.
        mutating func open(_ c: Consultation) throws {
            var room = room(c)
            let connection = ConnectionID(next())
            let entry = room.veilederArrives(
                connection: connection, proposed: ParticipantID(rawValue: "p-veileder-\(c.id)"), resume: token(), now: now)
            record(entry.actions, c.id)
            record(try room.announceKey(key("veileder", c), from: connection), c.id)
            rooms[c.id] = room
            people["\(c.id)/veileder"] = Person(participant: entry.you.participant, connection: connection, resume: TokenHash(bytes: []))
        }

        mutating func knock(_ c: Consultation, _ name: String, _ role: ParticipantRole = .deltaker) throws {
            var room = room(c)
            let person = Person(participant: ParticipantID(rawValue: "p-\(name)-\(next())"), connection: ConnectionID(next()), resume: token())
            let entry = try room.knocks(role: role, connection: person.connection, proposed: person.participant, resume: person.resume, now: now)
            record(entry.actions, c.id)
            rooms[c.id] = room
            people["\(c.id)/\(name)"] = person
        }

        /// The veileder lets `name` in, and `name`'s page announces its key.
        mutating func admit(_ c: Consultation, _ name: String) throws {
            var room = room(c)
            let person = people["\(c.id)/\(name)"]!
            let host = people["\(c.id)/veileder"]!.connection
            record(try room.admit(person.participant, by: host, now: now), c.id)
            record(try room.announceKey(key(name, c), from: person.connection), c.id)
            rooms[c.id] = room
        }

        /// Leaves (the call or the lobby) by saying so.
        mutating func leave(_ c: Consultation, _ name: String) {
            var room = room(c)
            record(room.disconnect(people["\(c.id)/\(name)"]!.connection, now: now, explicit: true), c.id)
            rooms[c.id] = room
        }

        /// The connection is lost (the seat is kept for the grace period).
        mutating func drop(_ c: Consultation, _ name: String) {
            var room = room(c)
            record(room.disconnect(people["\(c.id)/\(name)"]!.connection, now: now, explicit: false), c.id)
            rooms[c.id] = room
        }

        /// Back within the grace period with the resume token, and the key again.
        mutating func resume(_ c: Consultation, _ name: String) throws {
            var room = room(c)
            var person = people["\(c.id)/\(name)"]!
            let next = token()
            person.connection = ConnectionID(self.next())
            record(try room.resume(person.resume, next: next, connection: person.connection, now: now).actions, c.id)
            person.resume = next
            record(try room.announceKey(key(name, c), from: person.connection), c.id)
            rooms[c.id] = room
            people["\(c.id)/\(name)"] = person
        }

        /// The owning veileder's page says whether video is used.
        mutating func media(_ c: Consultation, video: Bool) {
            owners[c.id] = c.owner
            append(.media, AuditActor(kind: .user, id: c.owner.description, role: "veileder"), c.id, .allowed, CallMedia(video: video).auditReason)
        }

        /// The veileder ends the consultation in the call: everyone is closed
        /// without a `room.leave` each.
        mutating func end(_ c: Consultation) throws {
            let room = room(c)
            _ = try room.end(by: people["\(c.id)/veileder"]!.connection)
            append(.consultationEnd, AuditActor(kind: .user, id: c.owner.description, role: "veileder"), c.id, .allowed, "veileder ended the consultation in the call")
            rooms[c.id] = Room(consultation: c.id)
        }

        /// The server stops: the room is gone, and nobody's leave is recorded.
        mutating func crash(_ c: Consultation) {
            rooms[c.id] = Room(consultation: c.id)
        }

        /// Any entry, for the cases the room does not produce (a refused knock).
        mutating func raw(_ action: AuditAction, _ actor: AuditActor, _ c: Consultation, _ outcome: AuditOutcome) {
            append(action, actor, c.id, outcome, "")
        }

        /// A whole call: the veileder opens (and reports the media, if
        /// `video` is given), everyone knocks and is let in at `start`, and
        /// after `minutes` they leave, the veileder last.
        mutating func call(
            _ c: Consultation, at start: String, minutes: Double, deltakere: [String] = ["kari"], tolk: Bool = false, video: Bool? = true
        ) throws {
            at(start)
            try open(c)
            if let video { media(c, video: video) }
            let everyone = deltakere + (tolk ? ["tolk"] : [])
            for name in everyone {
                try knock(c, name, name == "tolk" ? .tolk : .deltaker)
                try admit(c, name)
            }
            wait(minutes: minutes)
            for name in everyone { leave(c, name) }
            leave(c, "veileder")
        }

        func calls(_ c: Consultation) -> [CallTimeline.Call] { CallTimeline(consultation: c.id, entries: entries).calls }
    }

    // MARK: The month

    @Test func reportMonthReadsOnlyYYYYMM() {
        #expect(ReportMonth("2026-11") == ReportMonth(year: 2026, month: 11))
        #expect(ReportMonth("2000-01")?.description == "2000-01")
        #expect(ReportMonth("2100-12")?.description == "2100-12")
        for bad in [
            "2026-13", "26-01", "2026-1", "", "2026-00", "1999-12", "2101-01", "2026/11", " 2026-11", "2026-11 ", "2026-011",
            "2026-11-01", "+026-11", "2026-1a", "٢٠٢٦-11", "２０２６-11", "2026−11", "2026-\u{0}1",
        ] {
            #expect(ReportMonth(bad) == nil, "\(bad) was read")
        }
        #expect(ReportMonth(year: 2026, month: 0) == nil)
        #expect(ReportMonth(year: 1999, month: 5) == nil)
        #expect(ReportMonth("2026-12")?.next == ReportMonth("2027-01"))
        #expect(ReportMonth("2026-01")?.previous == ReportMonth("2025-12"))
        #expect(ReportMonth("2100-12")?.next == nil)
        #expect(ReportMonth("2000-01")?.previous == nil)
        #expect(ReportMonth("2026-09")! < ReportMonth("2026-10")!)
    }

    @Test func aMonthRunsFromLocalMidnightToLocalMidnightAcrossSummerTime() {
        // October 2026 in Oslo: summer time (UTC+2) to winter time (UTC+1) on the 25th.
        let october = ReportMonth("2026-10")!
        #expect(october.start(in: Self.oslo) == Self.utc("2026-09-30 22:00"))
        #expect(october.end(in: Self.oslo) == Self.utc("2026-10-31 23:00"))
        #expect(october.end(in: Self.oslo).timeIntervalSince(october.start(in: Self.oslo)) == (31 * 24 + 1) * 3600)
        // March 2026: winter time to summer time on the 29th, an hour shorter.
        let march = ReportMonth("2026-03")!
        #expect(march.start(in: Self.oslo) == Self.utc("2026-02-28 23:00"))
        #expect(march.end(in: Self.oslo) == Self.utc("2026-03-31 22:00"))
        #expect(march.end(in: Self.oslo).timeIntervalSince(march.start(in: Self.oslo)) == (31 * 24 - 1) * 3600)
        // December ends at the new year's midnight; the same month in UTC is an hour later.
        #expect(ReportMonth("2026-12")!.end(in: Self.oslo) == Self.utc("2026-12-31 23:00"))
        #expect(Self.november.start(in: Self.utc) == Self.utc("2026-11-01 00:00"))
        // The first instant of the next month is the next month's.
        #expect(ReportMonth.containing(Self.utc("2026-10-31 23:00"), in: Self.oslo) == Self.november)
        #expect(ReportMonth.containing(Self.utc("2026-10-31 22:59"), in: Self.oslo) == ReportMonth("2026-10"))
        #expect(ReportMonth.containing(Self.utc("2026-10-31 23:00"), in: Self.utc) == ReportMonth("2026-10"))
        #expect(!october.range(in: Self.oslo).contains(october.end(in: Self.oslo)))
    }

    // MARK: Calls from the audit log

    @Test func aOneToOneVideoCall() throws {
        let c = Self.consultation("one")
        var script = Script()
        try script.call(c, at: "2026-11-03 10:00", minutes: 40)
        #expect(script.calls(c) == [
            .init(start: Self.local("2026-11-03 10:00"), end: Self.local("2026-11-03 10:40"), peak: 2, peakDeltakere: 1, withTolk: false, video: true)
        ])
        #expect(script.calls(c)[0].length == 40 * 60)
        #expect(!script.calls(c)[0].isGroup)
    }

    @Test func waitingAloneOrInTheLobbyIsNoCall() throws {
        let c = Self.consultation("lobby")
        var script = Script(at: "2026-11-03 10:00")
        try script.open(c)
        script.media(c, video: true)
        try script.knock(c, "kari")
        script.wait(minutes: 10)
        script.leave(c, "kari")
        script.wait(minutes: 10)
        script.leave(c, "veileder")
        #expect(script.calls(c).isEmpty)
        // Entries of another consultation are not this one's.
        #expect(CallTimeline(consultation: ConsultationID(rawValue: "other"), entries: script.entries).calls.isEmpty)
    }

    @Test func aSoundOnlyCallAndTheMediaStateCarriedIn() throws {
        var script = Script()
        // Never reported: sound only.
        let never = Self.consultation("never")
        try script.call(never, at: "2026-11-03 10:00", minutes: 20, video: nil)
        #expect(script.calls(never).map(\.video) == [false])
        // Video reported before the call, while the veileder waited alone, carries in.
        let before = Self.consultation("before")
        script.at("2026-11-04 09:50")
        try script.open(before)
        script.media(before, video: true)
        script.wait(minutes: 10)
        try script.knock(before, "kari")
        try script.admit(before, "kari")
        script.wait(minutes: 20)
        script.leave(before, "kari")
        #expect(script.calls(before).map(\.video) == [true])
        // Video turned off before the next call: that one is sound only.
        script.media(before, video: false)
        script.wait(minutes: 30)
        try script.knock(before, "ola")
        try script.admit(before, "ola")
        script.wait(minutes: 20)
        script.leave(before, "ola")
        #expect(script.calls(before).map(\.video) == [true, false])
        // Sound only, with video turned on for a while during the call: video.
        let during = Self.consultation("during")
        try script.call(during, at: "2026-11-05 10:00", minutes: 5, video: false)
        #expect(script.calls(during).map(\.video) == [false])
        let later = Self.consultation("later")
        script.at("2026-11-06 10:00")
        try script.open(later)
        script.media(later, video: false)
        try script.knock(later, "kari")
        try script.admit(later, "kari")
        script.wait(minutes: 5)
        script.media(later, video: true)
        script.wait(minutes: 5)
        script.media(later, video: false)
        script.wait(minutes: 5)
        script.leave(later, "kari")
        #expect(script.calls(later).map(\.video) == [true])
        #expect(script.calls(later).map(\.length) == [15 * 60])
    }

    @Test func aTolkCallAndAGroupCallOfFour() throws {
        var script = Script()
        let tolk = Self.consultation("tolk")
        try script.call(tolk, at: "2026-11-03 10:00", minutes: 50, tolk: true)
        #expect(script.calls(tolk).map { [$0.peak, $0.peakDeltakere] } == [[3, 1]])
        #expect(script.calls(tolk)[0].withTolk)
        #expect(!script.calls(tolk)[0].isGroup)  // a tolk does not make a group
        // The veileder and a tolk alone (the deltaker has not come yet) are in a call too.
        let early = Self.consultation("early")
        script.at("2026-11-03 12:00")
        try script.open(early)
        try script.knock(early, "tolk", .tolk)
        try script.admit(early, "tolk")
        script.wait(minutes: 10)
        script.leave(early, "tolk")
        #expect(script.calls(early).map { [$0.peak, $0.peakDeltakere] } == [[2, 0]])

        let group = Self.consultation("group")
        try script.call(group, at: "2026-11-04 18:00", minutes: 60, deltakere: ["kari", "ola", "nils"])
        #expect(script.calls(group).map { [$0.peak, $0.peakDeltakere] } == [[4, 3]])
        #expect(script.calls(group)[0].isGroup)
        #expect(script.calls(group)[0].length == 60 * 60)
        // Two deltakere and a tolk: a group of 4.
        let groupWithTolk = Self.consultation("group-tolk")
        try script.call(groupWithTolk, at: "2026-11-05 18:00", minutes: 30, deltakere: ["kari", "ola"], tolk: true)
        #expect(script.calls(groupWithTolk).map { [$0.peak, $0.peakDeltakere] } == [[4, 2]])
        #expect(script.calls(groupWithTolk)[0].withTolk && script.calls(groupWithTolk)[0].isGroup)
        // Two deltakere one after the other: never more than one at once, no group.
        let oneAfterTheOther = Self.consultation("sequential")
        script.at("2026-11-06 10:00")
        try script.open(oneAfterTheOther)
        try script.knock(oneAfterTheOther, "kari")
        try script.admit(oneAfterTheOther, "kari")
        script.wait(minutes: 10)
        try script.knock(oneAfterTheOther, "ola")
        script.leave(oneAfterTheOther, "kari")
        try script.admit(oneAfterTheOther, "ola")
        script.wait(minutes: 10)
        script.leave(oneAfterTheOther, "ola")
        #expect(script.calls(oneAfterTheOther).map { [$0.peak, $0.peakDeltakere] } == [[2, 1]])
    }

    @Test func aReconnectWithinFiveMinutesIsTheSameCall() throws {
        var script = Script()
        // The connection drops and comes back with the resume token.
        let resumed = Self.consultation("resumed")
        script.at("2026-11-11 10:00")
        try script.open(resumed)
        try script.knock(resumed, "kari")
        try script.admit(resumed, "kari")
        script.wait(minutes: 10)
        script.drop(resumed, "kari")
        script.wait(minutes: 1.5)
        try script.resume(resumed, "kari")
        script.wait(minutes: 20.5)
        script.leave(resumed, "kari")
        script.leave(resumed, "veileder")
        #expect(script.calls(resumed).map(\.length) == [32 * 60])
        #expect(script.calls(resumed).map(\.peak) == [2])

        // The grace period passed: she knocks again and is let in 4 minutes later.
        let knockedAgain = Self.consultation("again")
        script.at("2026-11-12 10:00")
        try script.open(knockedAgain)
        try script.knock(knockedAgain, "kari")
        try script.admit(knockedAgain, "kari")
        script.wait(minutes: 10)
        script.drop(knockedAgain, "kari")
        script.wait(minutes: 4)
        try script.knock(knockedAgain, "kari")
        try script.admit(knockedAgain, "kari")
        script.wait(minutes: 10)
        script.leave(knockedAgain, "kari")
        #expect(script.calls(knockedAgain).map(\.length) == [24 * 60])
        #expect(script.calls(knockedAgain).map(\.peak) == [2])  // the dropped seat is not counted twice

        // The veileder's page reloads mid-call.
        let reloaded = Self.consultation("reloaded")
        script.at("2026-11-13 10:00")
        try script.open(reloaded)
        try script.knock(reloaded, "kari")
        try script.admit(reloaded, "kari")
        script.wait(minutes: 5)
        script.drop(reloaded, "veileder")
        script.wait(minutes: 0.5)
        try script.open(reloaded)
        script.wait(minutes: 5)
        script.leave(reloaded, "kari")
        #expect(script.calls(reloaded).map(\.length) == [10.5 * 60])

        // Five minutes or more apart: two calls.
        let twice = Self.consultation("twice")
        script.at("2026-11-14 10:00")
        try script.open(twice)
        try script.knock(twice, "kari")
        try script.admit(twice, "kari")
        script.wait(minutes: 10)
        script.leave(twice, "kari")
        script.wait(minutes: 5)
        try script.knock(twice, "kari")
        try script.admit(twice, "kari")
        script.wait(minutes: 10)
        script.leave(twice, "kari")
        #expect(script.calls(twice).map(\.length) == [10 * 60, 10 * 60])
    }

    @Test func endingTheConsultationEndsTheCallAndAnOpenCallEndsAtTheLastEntry() throws {
        var script = Script()
        let ended = Self.consultation("ended")
        script.at("2026-11-03 10:00")
        try script.open(ended)
        try script.knock(ended, "kari")
        try script.admit(ended, "kari")
        script.wait(minutes: 25)
        try script.end(ended)
        script.wait(minutes: 60)
        script.media(ended, video: true)  // nobody is in any more
        #expect(script.calls(ended).map(\.length) == [25 * 60])

        // The server stopped without recording the leaves: the call ends at the consultation's last entry.
        let open = Self.consultation("open")
        script.at("2026-11-04 10:00")
        try script.open(open)
        try script.knock(open, "kari")
        try script.admit(open, "kari")
        script.wait(minutes: 18)
        script.media(open, video: true)
        #expect(script.calls(open).map(\.length) == [18 * 60])
        #expect(script.calls(open).map(\.video) == [true])
        // An invitation sent two days later is no sign of the call going on.
        script.wait(minutes: 2 * 24 * 60)
        script.raw(.invitationSend, AuditActor(kind: .user, id: "1", role: "veileder"), open, .allowed)
        #expect(script.calls(open).map(\.length) == [18 * 60])

        // The server stopped mid-call; the next day the veileder opens the
        // consultation again, and the one left in then is not still there.
        let crashed = Self.consultation("crashed")
        script.at("2026-11-05 10:00")
        try script.open(crashed)
        try script.knock(crashed, "kari")
        try script.admit(crashed, "kari")
        script.wait(minutes: 20)
        script.media(crashed, video: false)
        script.crash(crashed)
        script.at("2026-11-06 09:00")
        try script.open(crashed)
        try script.knock(crashed, "ola")
        try script.admit(crashed, "ola")
        script.wait(minutes: 15)
        script.leave(crashed, "ola")
        #expect(script.calls(crashed).map(\.length) == [20 * 60, 15 * 60])
        #expect(script.calls(crashed).map(\.peak) == [2, 2])
        #expect(script.calls(crashed).map(\.start) == [Self.local("2026-11-05 10:00"), Self.local("2026-11-06 09:00")])
    }

    @Test func aCallCrossingSummerTimeIsMeasuredInRealMinutes() throws {
        // 25 October 2026: at 03:00 summer time the clocks go back to 02:00.
        let c = Self.consultation("dst")
        var script = Script()
        script.at(utc: "2026-10-24 23:50")  // 01:50 summer time
        try script.open(c)
        try script.knock(c, "kari")
        try script.admit(c, "kari")
        script.at(utc: "2026-10-25 01:10")  // 02:10 winter time: 80 minutes later
        script.leave(c, "kari")
        #expect(script.calls(c).map(\.length) == [80 * 60])
        let october = MonthlyFigures.compute(
            month: ReportMonth("2026-10")!, timeZone: Self.oslo, consultations: [c], entries: script.entries,
            now: Self.local("2026-12-01 12:00"), owner: nil)
        #expect(october.counts.held == 1 && october.counts.lengths == [80 * 60])
    }

    // MARK: The scripted month

    /// November 2026 at the centre: veileder a's and b's consultations.
    static func scriptedMonth() throws -> (consultations: [Consultation], entries: [AuditEntry]) {
        var script = Script()
        var all: [Consultation] = []
        func add(_ c: Consultation) -> Consultation {
            all.append(c)
            return c
        }
        // a1–a6: booked 1:1 video calls of 20 to 45 minutes.
        for (i, minutes) in [20.0, 25, 30, 35, 40, 45].enumerated() {
            let c = add(consultation("a\(i + 1)", booked: "2026-11-0\(i + 2) 10:00"))
            try script.call(c, at: "2026-11-0\(i + 2) 10:00", minutes: minutes)
        }
        // a7: sound only, never reported (15 minutes).
        try script.call(add(consultation("a7")), at: "2026-11-09 13:00", minutes: 15, video: nil)
        // a8: with a tolk, video (50).
        try script.call(add(consultation("a8")), at: "2026-11-10 09:00", minutes: 50, tolk: true)
        // a9: video; a dropped connection comes back after 90 s (one call, 32 minutes).
        let a9 = add(consultation("a9"))
        script.at("2026-11-11 10:00")
        try script.open(a9)
        script.media(a9, video: true)
        try script.knock(a9, "kari")
        try script.admit(a9, "kari")
        script.wait(minutes: 10)
        script.drop(a9, "kari")
        script.wait(minutes: 1.5)
        try script.resume(a9, "kari")
        script.wait(minutes: 20.5)
        script.leave(a9, "kari")
        script.leave(a9, "veileder")
        // a10: a group of 4, video (60).
        try script.call(add(consultation("a10")), at: "2026-11-12 18:00", minutes: 60, deltakere: ["kari", "ola", "nils"])
        // a11: sound only, crossing midnight into December: November's (40).
        try script.call(add(consultation("a11")), at: "2026-11-30 23:40", minutes: 40, video: false)
        // a12: ten past midnight on 1 December (Oslo), 30 November in UTC: December's.
        try script.call(add(consultation("a12")), at: "2026-12-01 00:10", minutes: 30)
        // a13: five past midnight on 1 November (Oslo), 31 October in UTC: November's, sound only (30).
        try script.call(add(consultation("a13")), at: "2026-11-01 00:05", minutes: 30, video: false)
        // a14: booked, the veileder waited, nobody came: a no-show.
        let a14 = add(consultation("a14", booked: "2026-11-20 14:00"))
        script.at("2026-11-20 13:55")
        try script.open(a14)
        script.wait(minutes: 30)
        script.leave(a14, "veileder")
        // a15: booked; she knocked and was never let in: not a no-show, no call.
        let a15 = add(consultation("a15", booked: "2026-11-21 14:00"))
        script.at("2026-11-21 13:55")
        try script.open(a15)
        script.wait(minutes: 3)
        try script.knock(a15, "kari")
        script.wait(minutes: 10)
        script.leave(a15, "kari")
        script.leave(a15, "veileder")
        // a16: booked for December: not November's.
        _ = add(consultation("a16", booked: "2026-12-02 10:00"))
        // a17: booked, and ended (cancelled) before the time: booked, not a no-show.
        _ = add(consultation("a17", booked: "2026-11-25 10:00", endedAt: local("2026-11-20 09:00")))
        // b1: veileder b's booked sound-only call (10).
        let b1 = add(consultation("b1", owner: b, booked: "2026-11-05 12:00"))
        try script.call(b1, at: "2026-11-05 12:00", minutes: 10, video: false)
        // b2: veileder b's no-show, nothing in the log at all.
        _ = add(consultation("b2", owner: b, booked: "2026-11-06 12:00"))
        return (all, script.entries)
    }

    static let afterTheMonth = local("2026-12-05 12:00")

    static func figures(
        _ month: ReportMonth = november, owner: AccountID? = nil, now: Date = afterTheMonth
    ) throws -> MonthlyFigures {
        let (consultations, entries) = try scriptedMonth()
        return MonthlyFigures.compute(
            month: month, timeZone: oslo, consultations: consultations, entries: entries, now: now, owner: owner)
    }

    static func values(_ figures: MonthlyFigures) -> [String: FigureValue] {
        Dictionary(uniqueKeysWithValues: figures.figures.map { ($0.key.rawValue, $0.value) })
    }

    @Test func theCentresMonth() throws {
        let figures = try Self.figures()
        var expected = MonthlyFigures.Counts()
        expected.booked = 11  // a1–a6, a14, a15, a17, b1, b2
        expected.held = 13  // a1–a11, a13, b1
        expected.video = 9  // a1–a6, a8, a9, a10
        expected.soundOnly = 4  // a7, a11, a13, b1
        expected.withTolk = 1
        expected.groupCalls = 1
        expected.groupSizes = [0, 1, 0, 0]
        expected.noShows = 2  // a14, b2
        expected.lengths = [20, 25, 30, 35, 40, 45, 15, 50, 32, 60, 40, 30, 10].map { $0 * 60 }
        #expect(figures.counts.booked == expected.booked)
        #expect(figures.counts.held == expected.held)
        #expect(figures.counts.video == expected.video)
        #expect(figures.counts.soundOnly == expected.soundOnly)
        #expect(figures.counts.noShows == expected.noShows)
        #expect(figures.counts.lengths.sorted() == expected.lengths.sorted())
        #expect(figures.counts.groupSizes == expected.groupSizes)
        #expect(figures.counts.medianMinutes == 32)
        #expect(figures.scope == .centre)
        #expect(figures.figures.map(\.key) == FigureKey.allCases)
        #expect(Self.values(figures) == [
            "booked": .count(11),
            "held": .count(13),
            // soundOnly is under 5, so video is withheld: 13 − 9 would give it away.
            "video": .notShown,
            "soundOnly": .underFive,
            "withTolk": .underFive,
            "groupCalls": .underFive,
            "groupSize3": .count(0),
            "groupSize4": .underFive,
            "groupSize5": .count(0),
            "groupSize6": .count(0),
            "noShows": .underFive,
            "medianMinutes": .count(32),
        ])
    }

    @Test func aVeilederSeesOnlyTheirOwn() throws {
        let a = try Self.figures(owner: Self.a)
        #expect(a.scope == .veileder(Self.a))
        #expect([a.counts.booked, a.counts.held, a.counts.video, a.counts.soundOnly, a.counts.noShows] as [Int] == [9, 12, 9, 3, 1])
        #expect(a[.held] == .count(12) && a[.booked] == .count(9))
        #expect(a[.video] == .notShown && a[.soundOnly] == .underFive)
        // Twelve calls: the mean of the 6th and 7th (32 and 35) is 33.5, shown as 34.
        #expect(a[.medianMinutes] == .count(34))

        let b = try Self.figures(owner: Self.b)
        #expect([b.counts.booked, b.counts.held, b.counts.video, b.counts.soundOnly, b.counts.noShows] as [Int] == [2, 1, 0, 1, 1])
        #expect(Self.values(b) == [
            "booked": .underFive, "held": .underFive, "video": .count(0), "soundOnly": .underFive, "withTolk": .count(0),
            "groupCalls": .count(0), "groupSize3": .count(0), "groupSize4": .count(0), "groupSize5": .count(0),
            "groupSize6": .count(0), "noShows": .underFive, "medianMinutes": .notShown,
        ])
        // Someone with no consultations has zeros, and no median.
        let nobody = try Self.figures(owner: AccountID(rawValue: 99))
        #expect(nobody.figures.allSatisfy { $0.value == ($0.key == .medianMinutes ? .notShown : .count(0)) })
    }

    @Test func callsCountInTheMonthTheyStartIn() throws {
        let december = try Self.figures(ReportMonth("2026-12")!)
        #expect(december.counts.held == 1)  // a12; a11 crossed into December but started in November
        #expect(december.counts.lengths == [30 * 60])
        #expect(december.counts.booked == 1)  // a16
        #expect(december.counts.noShows == 1)  // a16: over by 5 December, and nobody knocked
        let duringA16 = try Self.figures(ReportMonth("2026-12")!, now: Self.local("2026-12-02 10:15"))
        #expect(duringA16.counts.booked == 1 && duringA16.counts.noShows == 0)  // its half hour is not over
        let october = try Self.figures(ReportMonth("2026-10")!)
        #expect(october.counts.held == 0)  // a13 started 31 October in UTC, 1 November in Oslo
        let novemberInUTC = MonthlyFigures.compute(
            month: Self.november, timeZone: Self.utc, consultations: try Self.scriptedMonth().consultations,
            entries: try Self.scriptedMonth().entries, now: Self.afterTheMonth, owner: nil)
        // In UTC a13 is October's and a12 November's.
        #expect(novemberInUTC.counts.held == 13)
        #expect(novemberInUTC.counts.lengths.sorted() == ([20, 25, 30, 35, 40, 45, 15, 50, 32, 60, 40, 30, 10].map { $0 * 60.0 }).sorted())
    }

    @Test func whatTheCallerReads() throws {
        #expect(MonthlyFigures.auditWindow(month: Self.november, timeZone: Self.oslo)
            == Self.utc("2026-10-30 23:00")..<Self.utc("2026-12-01 23:00"))
        let (consultations, entries) = try Self.scriptedMonth()
        // Only the consultations that may count, and only the window's entries: the same figures.
        let window = MonthlyFigures.auditWindow(month: Self.november, timeZone: Self.oslo)
        let some = MonthlyFigures.compute(
            month: Self.november, timeZone: Self.oslo,
            consultations: consultations.filter { MonthlyFigures.mayCount($0, month: Self.november, timeZone: Self.oslo) },
            entries: entries.filter { window.contains($0.event.at) }, now: Self.afterTheMonth, owner: nil)
        #expect(some == (try Self.figures()))
        func consultation(created: String, expires: String, ended: String? = nil, booked: String? = nil) -> Consultation {
            Consultation(
                id: ConsultationID(rawValue: "x"), owner: Self.a, title: nil, createdAt: Self.local(created),
                expiresAt: Self.local(expires), endedAt: ended.map { Self.local($0) },
                booking: booked.map { Booking(startsAt: Self.local($0), minutes: 30) })
        }
        func mayCount(_ c: Consultation) -> Bool { MonthlyFigures.mayCount(c, month: Self.november, timeZone: Self.oslo) }
        #expect(mayCount(consultation(created: "2026-10-20 10:00", expires: "2026-11-03 10:00")))
        #expect(mayCount(consultation(created: "2026-11-30 23:59", expires: "2026-12-14 10:00")))
        #expect(!mayCount(consultation(created: "2026-12-01 00:00", expires: "2026-12-14 10:00")))
        #expect(!mayCount(consultation(created: "2026-10-01 10:00", expires: "2026-10-15 10:00")))
        #expect(!mayCount(consultation(created: "2026-10-01 10:00", expires: "2026-12-15 10:00", ended: "2026-10-20 10:00")))
        // A booking in the month counts whatever else.
        #expect(mayCount(consultation(created: "2026-10-01 10:00", expires: "2026-12-15 10:00", ended: "2026-10-20 10:00", booked: "2026-11-04 10:00")))
    }

    // MARK: No-shows

    @Test func aNoShowIsBookedOverAndNeverKnocked() throws {
        var script = Script()
        let now = Self.local("2026-11-20 14:40")
        func noShow(_ c: Consultation, now: Date = now) -> Bool {
            MonthlyFigures.isNoShow(c, booking: c.booking!, entries: script.entries.filter { $0.event.consultation == c.id }, now: now)
        }
        let nobody = Self.consultation("nobody", booked: "2026-11-20 14:00")
        #expect(noShow(nobody))
        #expect(!noShow(nobody, now: Self.local("2026-11-20 14:29")))  // the booked half hour is not over
        #expect(noShow(nobody, now: Self.local("2026-11-20 14:30")))

        // Knocked and never let in: she came.
        let neverLetIn = Self.consultation("never-let-in", booked: "2026-11-20 14:00")
        script.at("2026-11-20 13:50")
        try script.knock(neverLetIn, "kari")
        script.wait(minutes: 15)
        script.leave(neverLetIn, "kari")
        #expect(!noShow(neverLetIn))

        // Knocked late, after the booked time: she came.
        let late = Self.consultation("late", booked: "2026-11-20 13:00")
        script.at("2026-11-20 13:35")
        try script.knock(late, "kari")
        #expect(!noShow(late))

        // A knock for an earlier conversation in the same consultation a week before does not count.
        let weekly = Self.consultation("weekly", booked: "2026-11-20 14:00")
        try script.call(weekly, at: "2026-11-13 14:00", minutes: 30)
        #expect(noShow(weekly))

        // Only the deltaker's knock counts; the tolk came alone.
        let tolkOnly = Self.consultation("tolk-only", booked: "2026-11-20 14:00")
        script.at("2026-11-20 13:58")
        try script.knock(tolkOnly, "tolk", .tolk)
        #expect(noShow(tolkOnly))

        // A refused knock (too early, the lobby was full) is no knock.
        let refused = Self.consultation("refused", booked: "2026-11-20 14:00")
        script.raw(.knock, .participant(ParticipantID(rawValue: "p-x"), role: .deltaker), refused, .denied)
        #expect(noShow(refused))

        // Cancelled: ended, or expired, before the booked time.
        let ended = Self.consultation("ended", booked: "2026-11-20 14:00", endedAt: Self.local("2026-11-19 10:00"))
        #expect(!noShow(ended))
        let expired = Self.consultation("expired", booked: "2026-11-20 14:00", expiresAt: Self.local("2026-11-20 13:00"))
        #expect(!noShow(expired))
        // Ended after the booked time, without a knock: a no-show.
        let endedAfter = Self.consultation("ended-after", booked: "2026-11-20 14:00", endedAt: Self.local("2026-11-20 14:20"))
        #expect(noShow(endedAfter))
    }

    // MARK: Small numbers

    @Test func countsUnderFiveAreShownAsUnderFive() {
        #expect(FigureValue.protected(0) == .count(0))
        for n in 1...4 { #expect(FigureValue.protected(n) == .underFive) }
        #expect(FigureValue.protected(5) == .count(5))
        #expect(FigureValue.protected(1234) == .count(1234))
        #expect(FigureValue.underFive.text(.nb) == "under 5")
        #expect(FigureValue.underFive.text(.en) == "under 5")
        #expect(FigureValue.notShown.text(.nb) == "vises ikke")
        #expect(FigureValue.notShown.text(.en) == "not shown")
    }

    @Test func complementarySuppression() {
        // held = video + soundOnly
        #expect(MonthlyFigures.complement([7, 3]) == [.notShown, .underFive])
        #expect(MonthlyFigures.complement([3, 7]) == [.underFive, .notShown])
        #expect(MonthlyFigures.complement([3, 4]) == [.underFive, .underFive])  // both hidden already
        #expect(MonthlyFigures.complement([0, 3]) == [.count(0), .underFive])  // the total is under 5 too
        #expect(MonthlyFigures.complement([12, 0]) == [.count(12), .count(0)])
        #expect(MonthlyFigures.complement([5, 9]) == [.count(5), .count(9)])
        // groupCalls = sizes 3…6: the smallest other part above 0 goes.
        #expect(MonthlyFigures.complement([9, 5, 2, 0]) == [.count(9), .notShown, .underFive, .count(0)])
        #expect(MonthlyFigures.complement([6, 0, 0, 0]) == [.count(6), .count(0), .count(0), .count(0)])
        #expect(MonthlyFigures.complement([2, 3, 0, 7]) == [.underFive, .underFive, .count(0), .count(7)])

        var counts = MonthlyFigures.Counts()
        counts.held = 11
        counts.video = 10
        counts.soundOnly = 1
        counts.groupCalls = 8
        counts.groupSizes = [5, 3, 0, 0]
        counts.lengths = Array(repeating: 600, count: 11)
        let shown = Dictionary(uniqueKeysWithValues: MonthlyFigures.protect(counts).map { ($0.key, $0.value) })
        #expect(shown[.held] == .count(11))
        #expect(shown[.video] == .notShown)
        #expect(shown[.soundOnly] == .underFive)
        #expect(shown[.groupCalls] == .count(8))
        #expect(shown[.groupSize3] == .notShown)
        #expect(shown[.groupSize4] == .underFive)
        #expect(shown[.medianMinutes] == .count(10))
    }

    @Test func theMedianIsShownForFiveCallsOrMore() {
        #expect(MonthlyFigures.medianMinutes([]) == nil)
        #expect(MonthlyFigures.medianMinutes([600, 3000, 1200]) == 20)  // odd: the middle one
        #expect(MonthlyFigures.medianMinutes([600, 1200]) == 15)  // even: the mean of the middle two
        #expect(MonthlyFigures.medianMinutes([600, 660]) == 11)  // 10.5 rounds up
        #expect(MonthlyFigures.medianMinutes([600, 620, 640, 9000]) == 11)  // 630 s is 10.5 minutes
        #expect(MonthlyFigures.medianMinutes([89]) == 1)
        #expect(MonthlyFigures.medianMinutes([29]) == 0)

        var counts = MonthlyFigures.Counts()
        counts.held = 4
        counts.soundOnly = 4
        counts.lengths = [600, 600, 600, 600]
        #expect(MonthlyFigures.protect(counts).last == Figure(key: .medianMinutes, value: .notShown))
        counts.held = 5
        counts.soundOnly = 5
        counts.lengths.append(6000)
        #expect(MonthlyFigures.protect(counts).last == Figure(key: .medianMinutes, value: .count(10)))
        counts = MonthlyFigures.Counts()
        #expect(MonthlyFigures.protect(counts).last == Figure(key: .medianMinutes, value: .notShown))
    }

    // MARK: Output

    /// RFC 4180 read back: fields, quoted fields with "" and commas, CRLF rows.
    static func parseCSV(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var chars = Array(text)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" {
                        field.append("\"")
                        chars.removeFirst()
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                row.append(field)
                field = ""
            } else if c == "\r\n" {
                row.append(field)
                rows.append(row)
                row = []
                field = ""
            } else {
                field.append(c)
            }
        }
        return rows
    }

    @Test func csvForTheAnnualReport() throws {
        let figures = try Self.figures()
        let en = figures.csv(language: .en)
        #expect(en.hasPrefix("month,figure,value,description\r\n2026-11,booked,11,Consultations with a booked time\r\n"))
        #expect(en.contains("\r\n2026-11,groupSize3,0,\"Group calls, 3 people\"\r\n"))
        #expect(en.contains("\r\n2026-11,soundOnly,under 5,Sound only\r\n"))
        #expect(en.contains("\r\n2026-11,video,not shown,With video\r\n"))
        #expect(en.hasSuffix("\r\n2026-11,medianMinutes,32,Median call length (minutes)\r\n"))
        let nb = figures.csv(language: .nb)
        #expect(nb.contains("\r\n2026-11,noShows,under 5,\"Ikke møtt (bestilt, aldri banket på)\"\r\n"))
        #expect(nb.contains("\r\n2026-11,video,vises ikke,Med video\r\n"))
        for text in [en, nb] {
            let rows = Self.parseCSV(text)
            #expect(rows.count == 1 + FigureKey.allCases.count)
            #expect(rows.allSatisfy { $0.count == 4 })
            #expect(rows.dropFirst().map { $0[1] } == FigureKey.allCases.map(\.rawValue))
            #expect(rows.dropFirst().allSatisfy { $0[0] == "2026-11" })
        }
        #expect(Self.parseCSV(nb)[10] == ["2026-11", "groupSize6", "0", "Gruppesamtaler med 6 personer eller flere"])
        // A quote in a cell is doubled.
        #expect(AuditCSV.row(["a\"b", "c,d"]) == "\"a\"\"b\",\"c,d\"\r\n")
    }

    @Test func jsonAndText() throws {
        let b = try Self.figures(owner: Self.b)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = String(decoding: try encoder.encode(b.report(language: .nb)), as: UTF8.self)
        #expect(json.hasPrefix(#"{"figures":[{"key":"booked","label":"Samtaler med bestilt tid","value":"under 5"},"#))
        #expect(json.contains(#"{"key":"video","label":"Med video","value":0}"#))
        #expect(json.contains(#"{"key":"medianMinutes","label":"Median lengde på samtalene (minutter)","value":null}"#))
        #expect(json.hasSuffix(#"],"month":"2026-11","scope":"veileder"}"#))
        #expect(FigureKey.allCases.map(\.rawValue) == [
            "booked", "held", "video", "soundOnly", "withTolk", "groupCalls", "groupSize3", "groupSize4", "groupSize5", "groupSize6",
            "noShows", "medianMinutes",
        ])
        let centre = try Self.figures().report(language: .en)
        #expect(centre.scope == "centre" && centre.figures[1] == .init(key: .held, label: "Calls held", value: .count(13)))

        let text = try Self.figures().text(language: .en)
        #expect(text.hasPrefix("Anonymous figures for 2026-11 (Europe/Oslo), the whole centre\n\n"))
        #expect(text.contains("\nCalls held                        13\n"))
        #expect(text.contains("\nSound only                        under 5\n"))
        #expect(text.contains("\nMedian call length (minutes)      32\n"))
        let norsk = b.text(language: .nb)
        #expect(norsk.hasPrefix("Anonyme tall for 2026-11 (Europe/Oslo), veileder 2\n\n"))
        #expect(norsk.contains("\nSamtaler gjennomført                       under 5\n"))
        #expect(norsk.contains("«under 5»"))
        #expect(!norsk.contains("\n\n\n"))
    }
}
