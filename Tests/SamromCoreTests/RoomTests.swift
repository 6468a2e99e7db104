import Foundation
import Testing
@testable import SamromCore

/// The lobby and call state machine, driven with time passed in: no sockets.
@Suite struct RoomTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    let v = ConnectionID(1)
    let vp = ParticipantID(rawValue: "p-veileder")
    let consultation = ConsultationID(rawValue: "AAAAAAAAAAAAAAAAAAAAAA")

    func room(grace: TimeInterval = 120, lobby: Int = 8) -> Room {
        Room(consultation: consultation, configuration: .init(resumeGrace: grace, lobbyCapacity: lobby))
    }

    static func hash(_ n: Int) -> TokenHash { TokenHash(bytes: Array(repeating: UInt8(n % 256), count: 31) + [UInt8(n / 256)]) }
    static func participant(_ n: Int) -> ParticipantID { ParticipantID(rawValue: "p-\(n)") }
    static func key(_ n: Int) -> Room.AnnouncedKey {
        Room.AnnouncedKey(publicKey: "pk\(n)", keyId: String(repeating: Character(UnicodeScalar(UInt8(65 + n))), count: 22))
    }

    func sends(_ actions: [Room.Action]) -> [(ConnectionID, String)] {
        actions.compactMap { if case .send(let c, let m) = $0 { (c, m.type) } else { nil } }
    }

    func rosters(_ actions: [Room.Action]) -> [ConnectionID: [ServerMessage.RosterEntry]] {
        var result: [ConnectionID: [ServerMessage.RosterEntry]] = [:]
        for case .send(let c, .roster(let entries)) in actions { result[c] = entries }
        return result
    }

    func audits(_ actions: [Room.Action]) -> [(AuditAction, Member, String)] {
        actions.compactMap { if case .audit(let a, let m, _, let r) = $0 { (a, m, r) } else { nil } }
    }

    /// Connection n knocks as `role` and is admitted.
    @discardableResult
    func admit(_ r: inout Room, _ n: UInt64, role: ParticipantRole, key: Bool = true) throws -> [Room.Action] {
        let c = ConnectionID(n)
        _ = try r.knocks(role: role, connection: c, proposed: Self.participant(Int(n)), resume: Self.hash(Int(n)), now: t0)
        var actions = try r.admit(Self.participant(Int(n)), by: v, now: t0)
        if key { actions += try r.announceKey(Self.key(Int(n)), from: c) }
        return actions
    }

    /// The veileder (with a key), plus deltakere 2… and a tolk at 9 if asked.
    func call(deltakere: Int = 1, tolk: Bool = false) throws -> Room {
        var r = room()
        _ = r.veilederArrives(connection: v, proposed: vp, resume: Self.hash(1), now: t0)
        _ = try r.announceKey(Self.key(1), from: v)
        for n in 0..<deltakere { try admit(&r, UInt64(2 + n), role: .deltaker) }
        if tolk { try admit(&r, 9, role: .tolk) }
        return r
    }

    func signal(from: Int, to: Int) -> SealedSignal {
        SealedSignal(senderKeyId: Self.key(from).keyId, recipientKeyId: Self.key(to).keyId, nonce: "n", box: "b")
    }

    // MARK: Entering

    @Test func theVeilederIsInTheCallAtOnceAndSeesTheLobby() throws {
        var r = room()
        _ = try r.knocks(role: .tolk, connection: ConnectionID(9), proposed: Self.participant(9), resume: Self.hash(9), now: t0)
        let entry = r.veilederArrives(connection: v, proposed: vp, resume: Self.hash(1), now: t0)
        #expect(entry.you == Member(participant: vp, role: .veileder))
        #expect(entry.actions.first == .audit(.join, actor: entry.you, outcome: .allowed, reason: "veileder opened the consultation"))
        #expect(entry.actions.contains(.admitted(v, vp)))
        #expect(entry.actions.contains(.send(v, .knock(Member(participant: Self.participant(9), role: .tolk)))))
        #expect(rosters(entry.actions)[v] == [.init(member: entry.you, keyId: nil)])
    }

    @Test func knocksCarryTheRoleAndTheAuditNamesIt() throws {
        var r = room()
        _ = r.veilederArrives(connection: v, proposed: vp, resume: Self.hash(1), now: t0)
        let knock = try r.knocks(role: .tolk, connection: ConnectionID(5), proposed: Self.participant(5), resume: Self.hash(5), now: t0)
        #expect(knock.you.role == .tolk)
        #expect(sends(knock.actions).map(\.1) == ["lobby", "knock"])
        #expect(knock.actions.contains(.send(v, .knock(Member(participant: Self.participant(5), role: .tolk)))))
        #expect(audits(knock.actions).map(\.2) == ["tolk is waiting in the lobby"])
        let admitted = try r.admit(Self.participant(5), by: v, now: t0)
        #expect(audits(admitted).map(\.2) == ["veileder admitted a tolk (p-5); identification not recorded"])
        let left = r.disconnect(ConnectionID(5), now: t0, explicit: false)
        #expect(audits(left).map(\.2) == ["tolk connection lost"])
    }

    /// Normen faktaark 54: how the person was identified goes into the
    /// admission's entry (the method only); "ID-porten" only for a knock
    /// that was verified with it, while the verification is fresh.
    @Test func theAdmissionRecordsHowThePersonWasIdentified() throws {
        var r = room()
        _ = r.veilederArrives(connection: v, proposed: vp, resume: Self.hash(1), now: t0)
        let proof = VerifiedIdentity(level: .high, expiresAt: t0.addingTimeInterval(60))
        let verified = try r.knocks(
            role: .deltaker, connection: ConnectionID(5), proposed: Self.participant(5), resume: Self.hash(5), identified: proof, now: t0)
        #expect(verified.actions.contains(.send(v, .knock(Member(participant: Self.participant(5), role: .deltaker), identified: proof))))
        #expect(audits(verified.actions).map(\.2) == ["deltaker is waiting in the lobby; verified with ID-porten (high level)"])
        let plain = try r.knocks(role: .deltaker, connection: ConnectionID(6), proposed: Self.participant(6), resume: Self.hash(6), now: t0)
        #expect(plain.actions.contains(.send(v, .knock(Member(participant: Self.participant(6), role: .deltaker), identified: nil))))
        let stale = try r.knocks(
            role: .deltaker, connection: ConnectionID(7), proposed: Self.participant(7), resume: Self.hash(7), identified: proof,
            now: t0.addingTimeInterval(61))
        #expect(audits(stale.actions).map(\.2) == ["deltaker is waiting in the lobby"])

        // ID-porten for a knock that was not verified (or no longer): refused, nobody admitted.
        for unverified in [6, 7] {
            #expect(throws: SignalError.self) { try r.admit(Self.participant(unverified), identification: .idPorten, by: v, now: t0) }
        }
        #expect(audits(try r.admit(Self.participant(5), identification: .idPorten, by: v, now: t0)).map(\.2)
            == ["veileder admitted a deltaker (p-5); identified: ID-porten"])
        #expect(audits(try r.admit(Self.participant(6), identification: .document, by: v, now: t0)).map(\.2)
            == ["veileder admitted a deltaker (p-6); identified: showed identification"])
        #expect(audits(try r.admit(Self.participant(7), identification: .known, by: v, now: t0)).map(\.2)
            == ["veileder admitted a deltaker (p-7); identified: known from before"])
    }

    @Test func everyoneInTheCallGetsTheRosterOnEveryChange() throws {
        var r = try call(deltakere: 1)
        let actions = try admit(&r, 9, role: .tolk, key: false)
        let after = rosters(actions)
        #expect(Set(after.keys) == [v, ConnectionID(2), ConnectionID(9)])
        let expected: [ServerMessage.RosterEntry] = [
            .init(member: .init(participant: vp, role: .veileder), keyId: Self.key(1).keyId),
            .init(member: .init(participant: Self.participant(2), role: .deltaker), keyId: Self.key(2).keyId),
            .init(member: .init(participant: Self.participant(9), role: .tolk), keyId: nil),
        ]
        #expect(after[ConnectionID(9)] == expected)
        // The newcomer learns the keys already announced; the others learn its own when it comes.
        #expect(sends(actions).filter { $0.0 == ConnectionID(9) && $0.1 == "key" }.count == 2)
        let announced = try r.announceKey(Self.key(9), from: ConnectionID(9))
        #expect(Set(sends(announced).filter { $0.1 == "key" }.map(\.0)) == [v, ConnectionID(2)])
        #expect(rosters(announced)[v]?.last?.keyId == Self.key(9).keyId)
        // Someone drops: the others see the roster without them.
        let dropped = r.disconnect(ConnectionID(2), now: t0, explicit: false)
        #expect(rosters(dropped)[v]?.map(\.member.participant) == [vp, Self.participant(9)])
    }

    @Test func aChangedKeyIsSaidToBeChanged() throws {
        var r = try call()
        // The same key again on the same connection: nothing to tell, nothing to log.
        #expect(try r.announceKey(Self.key(2), from: ConnectionID(2)).isEmpty)
        let other = try r.announceKey(Self.key(7), from: ConnectionID(2))
        #expect(other.contains { if case .send(v, .key(let k)) = $0 { k.changed && k.keyId == Self.key(7).keyId } else { false } })
        #expect(audits(other).map(\.2) == ["changed its device key to \(Self.key(7).keyId)"])
    }

    // MARK: Seats

    @Test func fourDeltakereAndOneTolkAtMost() throws {
        var r = try call(deltakere: 4, tolk: true)
        #expect(r.presence.inCall == 6)
        _ = try r.knocks(role: .deltaker, connection: ConnectionID(20), proposed: Self.participant(20), resume: Self.hash(20), now: t0)
        #expect(throws: SignalError(.roomFull, "every deltaker seat in the call is taken")) {
            try r.admit(Self.participant(20), by: v, now: t0)
        }
        _ = try r.knocks(role: .tolk, connection: ConnectionID(21), proposed: Self.participant(21), resume: Self.hash(21), now: t0)
        #expect(throws: SignalError(.roomFull, "a tolk is already in the call")) { try r.admit(Self.participant(21), by: v, now: t0) }
        // They still wait; a seat whose holder dropped is given to them.
        #expect(r.presence.waiting == 2)
        _ = r.disconnect(ConnectionID(3), now: t0, explicit: false)
        let admitted = try r.admit(Self.participant(20), by: v, now: t0)
        #expect(!admitted.isEmpty)
        #expect(!r.storedSeats.contains { $0.resume == Self.hash(3) } && r.storedSeats.contains { $0.resume == Self.hash(20) })
        #expect(r.presence == (waiting: 1, inCall: 6))
    }

    @Test func aFullLobbyRefusesTheNextKnock() throws {
        var r = room(lobby: 2)
        for n in 2...3 {
            _ = try r.knocks(role: .deltaker, connection: ConnectionID(UInt64(n)), proposed: Self.participant(n), resume: Self.hash(n), now: t0)
        }
        #expect(throws: SignalError(.roomFull, "too many are waiting for this consultation")) {
            try r.knocks(role: .tolk, connection: ConnectionID(4), proposed: Self.participant(4), resume: Self.hash(4), now: t0)
        }
    }

    @Test func onlyTheVeilederAdmitsAndDenies() throws {
        var r = try call()
        _ = try r.knocks(role: .deltaker, connection: ConnectionID(5), proposed: Self.participant(5), resume: Self.hash(5), now: t0)
        #expect(throws: SignalError(.forbidden, "only the veileder may do that")) { try r.admit(Self.participant(5), by: ConnectionID(2), now: t0) }
        #expect(throws: SignalError(.notWaiting, "nobody with that id is waiting")) { try r.admit(Self.participant(6), by: v, now: t0) }
        let denied = try r.deny(Self.participant(5), by: v, now: t0)
        #expect(denied.contains(.send(ConnectionID(5), .denied)))
        #expect(denied.contains(.close(ConnectionID(5), .normal, reason: "denied")))
        #expect(audits(denied).map(\.2) == ["veileder denied a deltaker (p-5)"])
    }

    @Test func theVeilederCanAskSomeoneWaitingToHoldOn() throws {
        var r = try call()
        _ = try r.knocks(role: .tolk, connection: ConnectionID(5), proposed: Self.participant(5), resume: Self.hash(5), now: t0)
        let actions = try r.hold(Self.participant(5), text: "Jeg kommer om fem minutter.", by: v)
        #expect(actions.contains(.send(ConnectionID(5), .hold(text: "Jeg kommer om fem minutter."))))
        // The log says that, never what.
        #expect(audits(actions).map(\.2) == ["veileder asked a waiting tolk to hold on (p-5)"])
        #expect(throws: SignalError(.forbidden, "only the veileder may do that")) { try r.hold(Self.participant(5), text: "x", by: ConnectionID(2)) }
        #expect(throws: SignalError(.notWaiting, "nobody with that id is waiting")) { try r.hold(Self.participant(2), text: "x", by: v) }
    }

    @Test func aReplacedLinkEmptiesItsRoleFromTheLobby() throws {
        var r = try call()
        _ = try r.knocks(role: .deltaker, connection: ConnectionID(5), proposed: Self.participant(5), resume: Self.hash(5), now: t0)
        _ = try r.knocks(role: .tolk, connection: ConnectionID(6), proposed: Self.participant(6), resume: Self.hash(6), now: t0)
        let actions = r.linkReplaced(role: .deltaker)
        #expect(actions.contains(.close(ConnectionID(5), .policyViolation, reason: "invalid-token")))
        #expect(actions.contains(.send(v, .lobbyLeft(participant: Self.participant(5)))))
        #expect(!actions.contains { if case .close(ConnectionID(6), _, _) = $0 { true } else { false } })
        #expect(r.presence == (waiting: 1, inCall: 2))
        // The deltaker already in the call stays.
        #expect(r.roster.map(\.member.participant) == [vp, Self.participant(2)])
    }

    // MARK: The relay decision

    @Test func aSignalGoesToTheAddressedParticipantOnly() throws {
        let r = try call(deltakere: 2, tolk: true)
        let action = try r.relay(signal(from: 2, to: 9), to: Self.participant(9), from: ConnectionID(2))
        #expect(action == .send(ConnectionID(9), .signal(from: Self.participant(2), signal(from: 2, to: 9))))
    }

    @Test func signalRefusals() throws {
        var r = try call(deltakere: 2)
        _ = try r.knocks(role: .tolk, connection: ConnectionID(9), proposed: Self.participant(9), resume: Self.hash(9), now: t0)
        // From the lobby.
        #expect(throws: SignalError(.notAdmitted, "wait until the veileder lets you in")) {
            try r.relay(signal(from: 9, to: 1), to: vp, from: ConnectionID(9))
        }
        // To someone not in this call (waiting in the lobby counts as not in the call), or to oneself.
        #expect(throws: SignalError(.notInCall, "\"to\" is not in this call")) {
            try r.relay(signal(from: 2, to: 9), to: Self.participant(9), from: ConnectionID(2))
        }
        #expect(throws: SignalError(.notInCall, "\"to\" is not in this call")) {
            try r.relay(signal(from: 2, to: 2), to: Self.participant(2), from: ConnectionID(2))
        }
        // Under a key id that is not the sender's.
        #expect(throws: SignalError(.badField, "\"senderKeyId\" is not the key you announced; send \"key\" first")) {
            try r.relay(signal(from: 3, to: 1), to: vp, from: ConnectionID(2))
        }
        // To someone in the grace period.
        _ = r.disconnect(ConnectionID(3), now: t0, explicit: false)
        #expect(throws: SignalError(.peerAbsent, "that participant is not connected")) {
            try r.relay(signal(from: 2, to: 3), to: Self.participant(3), from: ConnectionID(2))
        }
        // From a stranger connection.
        #expect(throws: SignalError(.forbidden, "not in this consultation")) {
            try r.relay(signal(from: 2, to: 1), to: vp, from: ConnectionID(77))
        }
    }

    @Test func noSignalBeforeAKeyIsAnnounced() throws {
        var r = try call()
        try admit(&r, 9, role: .tolk, key: false)
        #expect(throws: SignalError(.badField, "\"senderKeyId\" is not the key you announced; send \"key\" first")) {
            try r.relay(signal(from: 9, to: 1), to: vp, from: ConnectionID(9))
        }
    }

    // MARK: Chat

    func envelope(from: Int, to recipients: [Int], id: String = "m-1") -> ChatEnvelope {
        ChatEnvelope(
            clientMsgId: id, senderKeyId: Self.key(from).keyId,
            copies: recipients.map { ChatCopy(recipientKeyId: Self.key($0).keyId, nonce: "n", ciphertext: "c") })
    }

    @Test func chatCopiesGoToTheirKeysOnly() throws {
        let r = try call(deltakere: 1, tolk: true)
        let chat = envelope(from: 2, to: [1, 2, 9])
        let sender = try r.chatSender(chat, from: ConnectionID(2))
        #expect(sender == Member(participant: Self.participant(2), role: .deltaker))
        let stored = chat.copies.map {
            StoredChat(from: sender.participant, senderRole: .deltaker, clientMsgId: "m-1", senderKeyId: chat.senderKeyId, copy: $0, seq: 0, storedAt: t0)
        }
        let deliveries = r.deliver(stored)
        #expect(deliveries == [.send(v, .chat(stored[0])), .send(ConnectionID(9), .chat(stored[2]))])
    }

    @Test func chatRefusals() throws {
        var r = try call()
        #expect(throws: SignalError(.notInCall, "a copy is for a key that is not in this call")) {
            try r.chatSender(envelope(from: 2, to: [1, 5]), from: ConnectionID(2))
        }
        #expect(throws: SignalError(.badField, "\"senderKeyId\" is not the key you announced; send \"key\" first")) {
            try r.chatSender(envelope(from: 1, to: [2]), from: ConnectionID(2))
        }
        _ = try r.knocks(role: .tolk, connection: ConnectionID(9), proposed: Self.participant(9), resume: Self.hash(9), now: t0)
        #expect(throws: SignalError(.notAdmitted, "wait until the veileder lets you in")) {
            try r.chatSender(envelope(from: 9, to: [1]), from: ConnectionID(9))
        }
        #expect(throws: SignalError(.notAdmitted, "wait until the veileder lets you in")) { try r.historyKey(of: ConnectionID(9)) }
    }

    @Test func copiesMayGoToSomeoneInTheGracePeriod() throws {
        var r = try call(deltakere: 2)
        _ = r.disconnect(ConnectionID(3), now: t0, explicit: false)
        #expect(try r.chatSender(envelope(from: 2, to: [1, 3]), from: ConnectionID(2)).participant == Self.participant(2))
    }

    // MARK: Leaving and coming back

    @Test func resumeWithinGraceKeepsTheSeatAndAsksForTheKeyAgain() throws {
        var r = try call(deltakere: 1)
        _ = r.disconnect(ConnectionID(2), now: t0, explicit: false)
        let back = try r.resume(Self.hash(2), next: Self.hash(102), connection: ConnectionID(12), now: t0.addingTimeInterval(60))
        #expect(back.you == Member(participant: Self.participant(2), role: .deltaker))
        #expect(back.actions.contains(.admitted(ConnectionID(12), Self.participant(2))))
        #expect(audits(back.actions).map(\.2) == ["deltaker came back within the grace period"])
        #expect(rosters(back.actions)[v]?.last?.keyId == nil)
        // The old token is used up.
        #expect(throws: SignalError(.invalidToken, "nothing to resume")) {
            try r.resume(Self.hash(2), next: Self.hash(103), connection: ConnectionID(13), now: t0)
        }
        // The same key again is not a change.
        let again = try r.announceKey(Self.key(2), from: ConnectionID(12))
        #expect(again.contains { if case .send(v, .key(let k)) = $0 { !k.changed } else { false } })
    }

    @Test func resumeAfterGraceFails() throws {
        var r = try call()
        _ = r.disconnect(ConnectionID(2), now: t0, explicit: false)
        #expect(throws: SignalError(.expired, "too long has passed; join again")) {
            try r.resume(Self.hash(2), next: Self.hash(102), connection: ConnectionID(12), now: t0.addingTimeInterval(121))
        }
        #expect(r.presence.inCall == 1)
    }

    @Test func aSecondTabTakesOverTheVeilederSeat() throws {
        var r = try call()
        let entry = r.veilederArrives(connection: ConnectionID(50), proposed: ParticipantID(rawValue: "p-other"), resume: Self.hash(50), now: t0)
        #expect(entry.you.participant == vp)
        #expect(entry.actions.contains(.close(v, .policyViolation, reason: "session-replaced")))
        #expect(r.storedSeats.first { $0.role == .veileder }?.resume == Self.hash(50))
        #expect(!r.storedSeats.contains { $0.resume == Self.hash(1) })
    }

    @Test func sweepFreesExpiredSeatsAndTheRoomEmpties() throws {
        var r = try call()
        _ = r.disconnect(ConnectionID(2), now: t0, explicit: false)
        _ = r.disconnect(v, now: t0, explicit: true)
        #expect(!r.isEmpty)
        r.sweep(now: t0.addingTimeInterval(60))
        #expect(r.storedSeats.map(\.resume) == [Self.hash(1), Self.hash(2)])
        r.sweep(now: t0.addingTimeInterval(121))
        #expect(r.storedSeats.isEmpty && r.isEmpty)
    }

    @Test func endClosesEveryone() throws {
        var r = try call(deltakere: 1, tolk: true)
        _ = try r.knocks(role: .deltaker, connection: ConnectionID(5), proposed: Self.participant(5), resume: Self.hash(5), now: t0)
        #expect(throws: SignalError(.forbidden, "only the veileder may do that")) { try r.end(by: ConnectionID(2)) }
        let actions = try r.end(by: v)
        for c in [v, ConnectionID(2), ConnectionID(9), ConnectionID(5)] {
            #expect(actions.contains(.send(c, .ended)))
            #expect(actions.contains(.close(c, .normal, reason: "ended")))
        }
    }

    // MARK: Taking a call over

    @Test func storedSeatsCarryTheLatestResumeTokenAndKey() throws {
        var r = try call()
        _ = r.disconnect(ConnectionID(2), now: t0, explicit: false)
        _ = try r.resume(Self.hash(2), next: Self.hash(102), connection: ConnectionID(12), now: t0)
        let deltaker = try #require(r.storedSeats.first { $0.role == .deltaker })
        #expect(deltaker.resume == Self.hash(102) && deltaker.lastKeyId == Self.key(2).keyId)
        // Waiting in the lobby is not a seat: nothing to take over.
        _ = try r.knocks(role: .deltaker, connection: ConnectionID(5), proposed: Self.participant(5), resume: Self.hash(5), now: t0)
        #expect(r.storedSeats.count == 2)
    }

    @Test func aRestoredCallTakesItsSeatsBackByResumeWithinTheGrace() throws {
        let old = try call(deltakere: 2)
        let stored = old.storedSeats
        var r = Room(consultation: old.consultation)
        r.restore(stored, now: t0)
        #expect(r.presence == (waiting: 0, inCall: 0) && !r.isEmpty)
        let back = try r.resume(Self.hash(2), next: Self.hash(202), connection: ConnectionID(22), now: t0.addingTimeInterval(30))
        #expect(back.you == Member(participant: Self.participant(2), role: .deltaker))
        #expect(back.actions.contains(.admitted(ConnectionID(22), Self.participant(2))))
        // The same token again: used.
        #expect(throws: SignalError(.invalidToken, "nothing to resume")) {
            try r.resume(Self.hash(2), next: Self.hash(203), connection: ConnectionID(23), now: t0.addingTimeInterval(31))
        }
        // A key announced again is the same device key: not "changed".
        let announced = try r.announceKey(Self.key(2), from: ConnectionID(22))
        #expect(!announced.contains { if case .send(_, .key(let k)) = $0 { k.changed } else { false } })
        // Whoever does not come back within the grace is freed.
        r.sweep(now: t0.addingTimeInterval(121))
        #expect(r.storedSeats.map(\.participant) == [Self.participant(2)])
    }
}
