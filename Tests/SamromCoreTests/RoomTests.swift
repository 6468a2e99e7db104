import Foundation
import Testing
@testable import SamromCore

/// The lobby and call state machine, driven with time passed in: no sockets.
@Suite struct RoomTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    let veilederConnection = ConnectionID(1)
    let deltakerConnection = ConnectionID(2)
    let vp = ParticipantID(rawValue: "p-veileder")
    let dp = ParticipantID(rawValue: "p-deltaker")
    let vResume = TokenHash(bytes: Array(repeating: 1, count: 32))
    let dResume = TokenHash(bytes: Array(repeating: 2, count: 32))

    func room(grace: TimeInterval = 120, capacity: Int = 8) -> Room {
        Room(consultation: ConsultationID(rawValue: "AAAAAAAAAAAAAAAAAAAAAA"), configuration: .init(resumeGrace: grace, lobbyCapacity: capacity))
    }

    func sends(_ actions: [Room.Action]) -> [(ConnectionID, String)] {
        actions.compactMap { if case .send(let c, let m) = $0 { (c, m.type) } else { nil } }
    }

    /// A room with the veileder present and the deltaker admitted.
    func inCall() throws -> Room {
        var r = room()
        _ = r.veilederArrives(connection: veilederConnection, proposed: vp, resume: vResume, now: t0)
        _ = try r.deltakerKnocks(connection: deltakerConnection, proposed: dp, resume: dResume, now: t0)
        _ = try r.admit(dp, by: veilederConnection, now: t0)
        return r
    }

    @Test func knockAdmitAndRelay() throws {
        var r = room()
        let v = r.veilederArrives(connection: veilederConnection, proposed: vp, resume: vResume, now: t0)
        #expect(v.you.role == .veileder && v.peers.isEmpty)
        let d = try r.deltakerKnocks(connection: deltakerConnection, proposed: dp, resume: dResume, now: t0)
        #expect(d.you.role == .deltaker)
        #expect(sends(d.actions).map(\.1) == ["lobby", "knock"])
        #expect(sends(d.actions).last?.0 == veilederConnection)

        // Before admission, a deltaker's offer is refused.
        #expect(throws: SignalError(.notAdmitted, "wait until the veileder lets you in")) {
            try r.relay(.offer(sdp: "v=0"), from: deltakerConnection)
        }
        let admitted = try r.admit(dp, by: veilederConnection, now: t0)
        #expect(sends(admitted).map(\.1) == ["admitted", "peer-joined", "peer-joined"])
        #expect(admitted.contains { if case .audit(.admit, _, .allowed, _) = $0 { true } else { false } })

        let relayed = try r.relay(.offer(sdp: "v=0 x"), from: veilederConnection)
        #expect(relayed == [.send(deltakerConnection, .offer(from: vp, sdp: "v=0 x"))])
        let back = try r.relay(.answer(sdp: "v=0 y"), from: deltakerConnection)
        #expect(back == [.send(veilederConnection, .answer(from: dp, sdp: "v=0 y"))])
    }

    @Test func knockWhileVeilederAbsentIsShownOnArrival() throws {
        var r = room()
        _ = try r.deltakerKnocks(connection: deltakerConnection, proposed: dp, resume: dResume, now: t0)
        let v = r.veilederArrives(connection: veilederConnection, proposed: vp, resume: vResume, now: t0)
        #expect(sends(v.actions).map(\.1) == ["knock"])
    }

    @Test func onlyTheVeilederAdmitsOrDenies() throws {
        var r = room()
        _ = r.veilederArrives(connection: veilederConnection, proposed: vp, resume: vResume, now: t0)
        _ = try r.deltakerKnocks(connection: deltakerConnection, proposed: dp, resume: dResume, now: t0)
        #expect(throws: SignalError.self) { try r.admit(dp, by: deltakerConnection, now: t0) }
        #expect(throws: SignalError.self) { try r.deny(dp, by: deltakerConnection, now: t0) }
        #expect(throws: SignalError(.notWaiting, "nobody with that id is waiting")) {
            try r.admit(ParticipantID(rawValue: "p-nobody"), by: veilederConnection, now: t0)
        }
        let denied = try r.deny(dp, by: veilederConnection, now: t0)
        #expect(denied.contains(.send(deltakerConnection, .denied)))
        #expect(denied.contains(.close(deltakerConnection, .normal, reason: "denied")))
        #expect(denied.contains(.forgetResume(dResume)))
    }

    @Test func aSecondDeltakerWaitsAndCannotTakeAnOccupiedSeat() throws {
        var r = try inCall()
        let second = ParticipantID(rawValue: "p-second")
        let entry = try r.deltakerKnocks(connection: ConnectionID(3), proposed: second, resume: TokenHash(bytes: [3]), now: t0)
        #expect(sends(entry.actions).map(\.1) == ["lobby", "knock"])
        #expect(throws: SignalError.self) { try r.admit(second, by: veilederConnection, now: t0) }
        #expect(throws: SignalError(.notAdmitted, "wait until the veileder lets you in")) {
            try r.relay(.offer(sdp: "v=0"), from: ConnectionID(3))
        }
    }

    @Test func lobbyCapacity() throws {
        var r = room(capacity: 1)
        _ = try r.deltakerKnocks(connection: ConnectionID(5), proposed: dp, resume: dResume, now: t0)
        #expect(throws: SignalError.self) {
            try r.deltakerKnocks(connection: ConnectionID(6), proposed: vp, resume: vResume, now: t0)
        }
    }

    @Test func resumeWithinGraceRejoinsWithoutKnocking() throws {
        var r = try inCall()
        let left = r.disconnect(deltakerConnection, now: t0)
        #expect(left.contains(.send(veilederConnection, .peerLeft(.init(participant: dp, role: .deltaker)))))
        let next = TokenHash(bytes: Array(repeating: 9, count: 32))
        let entry = try r.resume(dResume, next: next, connection: ConnectionID(7), now: t0.addingTimeInterval(119))
        #expect(entry.you.participant == dp)
        #expect(entry.peers.map(\.role) == [.veileder])
        #expect(sends(entry.actions).map(\.1) == ["admitted", "peer-joined"])
        #expect(entry.actions.contains(.forgetResume(dResume)))
        // The old token is spent; the new one works.
        #expect(throws: SignalError.self) { try r.resume(dResume, next: next, connection: ConnectionID(8), now: t0) }
    }

    @Test func resumeAfterGraceIsRefusedAndFreesTheSeat() throws {
        var r = try inCall()
        _ = r.disconnect(deltakerConnection, now: t0)
        #expect(throws: SignalError(.expired, "too long has passed; join again")) {
            try r.resume(dResume, next: TokenHash(bytes: [9]), connection: ConnectionID(7), now: t0.addingTimeInterval(121))
        }
        // The seat is free: a new knock can be admitted.
        let next = ParticipantID(rawValue: "p-new")
        _ = try r.deltakerKnocks(connection: ConnectionID(9), proposed: next, resume: TokenHash(bytes: [4]), now: t0)
        _ = try r.admit(next, by: veilederConnection, now: t0)
    }

    @Test func sweepFreesExpiredSeats() throws {
        var r = try inCall()
        _ = r.disconnect(deltakerConnection, now: t0)
        _ = r.disconnect(veilederConnection, now: t0)
        #expect(r.sweep(now: t0.addingTimeInterval(60)).isEmpty)
        let swept = r.sweep(now: t0.addingTimeInterval(200))
        #expect(Set(swept) == [.forgetResume(vResume), .forgetResume(dResume)])
        #expect(r.isEmpty)
    }

    @Test func aSecondVeilederTabTakesOver() throws {
        var r = try inCall()
        let entry = r.veilederArrives(connection: ConnectionID(10), proposed: ParticipantID(rawValue: "p-other"), resume: TokenHash(bytes: [5]), now: t0)
        #expect(entry.you.participant == vp)
        #expect(entry.actions.contains(.close(veilederConnection, .policyViolation, reason: "session-replaced")))
        #expect(entry.peers.map(\.participant) == [dp])
    }

    @Test func endClosesEveryone() throws {
        let r = try inCall()
        #expect(throws: SignalError.self) { try r.end(by: deltakerConnection) }
        let actions = try r.end(by: veilederConnection)
        #expect(actions.contains(.send(deltakerConnection, .ended)))
        #expect(actions.contains(.send(veilederConnection, .ended)))
        #expect(actions.contains(.close(deltakerConnection, .normal, reason: "ended")))
    }

    @Test func strangersCannotRelay() throws {
        let r = try inCall()
        #expect(throws: SignalError(.forbidden, "not in this consultation")) {
            try r.relay(.offer(sdp: "v=0"), from: ConnectionID(99))
        }
    }

    @Test func relayNeedsThePeerPresent() throws {
        var r = room()
        _ = r.veilederArrives(connection: veilederConnection, proposed: vp, resume: vResume, now: t0)
        #expect(throws: SignalError(.peerAbsent, "the other participant is not connected")) {
            try r.relay(.offer(sdp: "v=0"), from: veilederConnection)
        }
    }
}

extension Room {
    mutating func disconnect(_ connection: ConnectionID, now: Date) -> [Action] {
        disconnect(connection, now: now, explicit: false)
    }
}

extension Room.Action: Hashable {
    public func hash(into hasher: inout Hasher) { hasher.combine("\(self)") }
}
