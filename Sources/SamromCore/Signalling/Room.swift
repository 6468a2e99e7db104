import Foundation

/// The lobby and call of one consultation, as a value-type state machine:
/// every decision about who may enter, who is in the call and who may send
/// what to whom is made here, and only here.
///
/// Each `mutating` method takes the current time and returns the actions the
/// caller must perform (send, close, audit), so every
/// transition is tested without sockets or clocks. A call holds the owning
/// veileder, up to four deltakere and one tolk; others wait in the lobby.
public struct Room: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// How long a dropped participant may come back with their resume token.
        public var resumeGrace: TimeInterval
        /// How many may wait in the lobby at once (one link can be shared).
        public var lobbyCapacity: Int
        /// Seats per role in the call.
        public var seats: [ParticipantRole: Int]
        /// How long before a booked start the links may knock.
        public var lobbyWindow: TimeInterval

        public init(
            resumeGrace: TimeInterval = 120, lobbyCapacity: Int = 8,
            seats: [ParticipantRole: Int] = [.veileder: 1, .deltaker: 4, .tolk: 1],
            lobbyWindow: TimeInterval = TimeInterval(Booking.defaultLobbyWindowMinutes * 60)
        ) {
            self.resumeGrace = resumeGrace
            self.lobbyCapacity = lobbyCapacity
            self.seats = seats
            self.lobbyWindow = lobbyWindow
        }

    }

    /// What the caller must do after a transition, in order.
    public enum Action: Sendable, Equatable {
        case send(ConnectionID, ServerMessage)
        /// Send `admitted` with this participant's ICE servers (the caller holds the TURN secret).
        case admitted(ConnectionID, ParticipantID)
        case close(ConnectionID, WebSocketCloseCode, reason: String)
        case audit(AuditAction, actor: Member, outcome: AuditOutcome, reason: String)
    }

    /// The result of entering the room: who you are, and what to do after
    /// sending `welcome` (audit entries first: the welcome reports them done).
    public struct Entry: Sendable, Equatable {
        public var you: Member
        public var actions: [Action]
    }

    /// A device key as announced in the call.
    public struct AnnouncedKey: Sendable, Equatable {
        public var publicKey: String
        public var keyId: String
        public init(publicKey: String, keyId: String) {
            self.publicKey = publicKey
            self.keyId = keyId
        }
    }

    /// A place in the call, kept through a short disconnection.
    struct Seat: Sendable, Equatable {
        var member: Member
        var connection: ConnectionID?
        var resume: TokenHash
        var leftAt: Date?
        /// Announced on the current connection; cleared when another connection takes the seat.
        var key: AnnouncedKey?
        /// The last key this seat announced on any connection: chat copies
        /// may still be addressed to it, and a different one is `changed`.
        var lastKeyId: String?
    }

    struct Waiting: Sendable, Equatable {
        var member: Member
        var connection: ConnectionID
        var resume: TokenHash
        var knockedAt: Date
        /// They logged in with ID-porten before knocking.
        var identified: VerifiedIdentity?
    }

    public let consultation: ConsultationID
    public let configuration: Configuration
    /// In order of entry; the veileder's seat may be anywhere.
    private(set) var seats: [Seat] = []
    private(set) var lobby: [Waiting] = []
    /// What the veileder's page last said of the call's media.
    private(set) var media: CallMedia?

    public init(consultation: ConsultationID, configuration: Configuration = .init()) {
        self.consultation = consultation
        self.configuration = configuration
    }

    // MARK: Queries

    /// Nobody connected, waiting, or within their grace period.
    public var isEmpty: Bool { seats.isEmpty && lobby.isEmpty }

    /// Every live connection in the room.
    public var connections: [ConnectionID] { seats.compactMap(\.connection) + lobby.map(\.connection) }

    /// How many wait in the lobby and how many are connected in the call.
    public var presence: (waiting: Int, inCall: Int) { (lobby.count, seats.filter { $0.connection != nil }.count) }

    /// The roster everyone in the call sees: connected seats, veileder first,
    /// then in order of entry.
    public var roster: [ServerMessage.RosterEntry] {
        let connected = seats.filter { $0.connection != nil }
        let ordered = connected.filter { $0.member.role == .veileder } + connected.filter { $0.member.role != .veileder }
        return ordered.map { ServerMessage.RosterEntry(member: $0.member, keyId: $0.key?.keyId) }
    }

    /// The seats as the store keeps them, for whoever takes the call over:
    /// a seat's resume token works there too, and only the latest one.
    public var storedSeats: [StoredSeat] {
        seats.map { StoredSeat(participant: $0.member.participant, role: $0.member.role, resume: $0.resume, lastKeyId: $0.lastKeyId) }
    }

    // MARK: Taking a call over

    /// Takes over a call whose home was elsewhere (or in an earlier run of
    /// this server): its stored seats, all disconnected, their grace period
    /// counted from `now`, so their holders can resume here. Only into an
    /// empty room.
    public mutating func restore(_ stored: [StoredSeat], now: Date) {
        precondition(isEmpty, "a call is taken over into an empty room")
        seats = stored.map {
            Seat(
                member: Member(participant: $0.participant, role: $0.role), connection: nil, resume: $0.resume, leftAt: now,
                key: nil, lastKeyId: $0.lastKeyId)
        }
    }

    // MARK: Entering

    /// The consultation's owner arrives (authenticated by the caller) and is
    /// in the call at once. A second tab takes over from the first.
    public mutating func veilederArrives(
        connection: ConnectionID, proposed: ParticipantID, resume: TokenHash, now: Date
    ) -> Entry {
        var actions: [Action] = []
        let index: Int
        if let existing = seats.firstIndex(where: { $0.member.role == .veileder }) {
            index = existing
            actions += takeOver(index, connection: connection, resume: resume)
        } else {
            let member = Member(participant: proposed, role: .veileder)
            seats.append(Seat(member: member, connection: connection, resume: resume))
            index = seats.count - 1
        }
        let member = seats[index].member
        actions.append(.audit(.join, actor: member, outcome: .allowed, reason: "veileder opened the consultation"))
        actions += enteredCall(index)
        for waiting in lobby { actions.append(.send(connection, .knock(waiting.member, identified: waiting.identified))) }
        return Entry(you: member, actions: actions)
    }

    /// A deltaker or tolk with a valid link knocks and waits in the lobby.
    public mutating func knocks(
        role: ParticipantRole, connection: ConnectionID, proposed: ParticipantID, resume: TokenHash, identified: VerifiedIdentity? = nil,
        now: Date
    ) throws(SignalError) -> Entry {
        precondition(ParticipantRole.invited.contains(role), "the veileder does not knock")
        guard lobby.count < configuration.lobbyCapacity else {
            throw SignalError(.roomFull, "too many are waiting for this consultation")
        }
        let member = Member(participant: proposed, role: role)
        // A verification counts only while it is fresh.
        let identified = identified.flatMap { now < $0.expiresAt ? $0 : nil }
        lobby.append(Waiting(member: member, connection: connection, resume: resume, knockedAt: now, identified: identified))
        let proof = identified.map { "; \($0.description)" } ?? ""
        var actions: [Action] = [
            .audit(.knock, actor: member, outcome: .allowed, reason: "\(role.rawValue) is waiting in the lobby\(proof)"),
            .send(connection, .lobby),
        ]
        if let host = veilederConnection { actions.append(.send(host, .knock(member, identified: identified))) }
        return Entry(you: member, actions: actions)
    }

    /// Someone comes back to their seat with a resume token (hash) within the
    /// grace period; `next` is the hash of the fresh token their new `welcome` carries.
    public mutating func resume(
        _ hash: TokenHash, next: TokenHash, connection: ConnectionID, now: Date
    ) throws(SignalError) -> Entry {
        guard let index = seats.firstIndex(where: { $0.resume.matches(hash) }) else {
            throw SignalError(.invalidToken, "nothing to resume")
        }
        if let leftAt = seats[index].leftAt, now.timeIntervalSince(leftAt) > configuration.resumeGrace {
            // The seat is freed by the attempt (the caller keeps the room).
            seats.remove(at: index)
            throw SignalError(.expired, "too long has passed; join again")
        }
        var actions = takeOver(index, connection: connection, resume: next)
        let member = seats[index].member
        actions.append(.audit(.resume, actor: member, outcome: .allowed, reason: "\(member.role.rawValue) came back within the grace period"))
        actions += enteredCall(index)
        if member.role == .veileder {
            for waiting in lobby { actions.append(.send(connection, .knock(waiting.member, identified: waiting.identified))) }
        }
        return Entry(you: member, actions: actions)
    }

    // MARK: The veileder decides

    /// `identification`: how the veileder identified the person (recorded
    /// as the method only); "id-porten" only for a knock verified with it.
    public mutating func admit(
        _ participant: ParticipantID, identification: Identification? = nil, by connection: ConnectionID, now: Date
    ) throws(SignalError) -> [Action] {
        let host = try requireVeileder(connection)
        guard let waitingIndex = lobby.firstIndex(where: { $0.member.participant == participant }) else {
            throw SignalError(.notWaiting, "nobody with that id is waiting")
        }
        if identification == .idPorten, lobby[waitingIndex].identified == nil {
            throw SignalError(.badField, "this knock was not verified with ID-porten")
        }
        let role = lobby[waitingIndex].member.role
        var actions: [Action] = []
        let taken = seats.filter { $0.member.role == role }
        if taken.count >= configuration.seats[role, default: 0] {
            // A seat whose holder dropped and has not come back goes first.
            guard let dropped = seats.firstIndex(where: { $0.member.role == role && $0.connection == nil }) else {
                throw SignalError(.roomFull, role == .tolk ? "a tolk is already in the call" : "every \(role.rawValue) seat in the call is taken")
            }
            seats.remove(at: dropped)
        }
        let waiting = lobby.remove(at: waitingIndex)
        seats.append(Seat(member: waiting.member, connection: waiting.connection, resume: waiting.resume))
        let identified = identification.map { "identified: \($0.description)" } ?? "identification not recorded"
        actions.append(
            .audit(.admit, actor: host, outcome: .allowed, reason: "veileder admitted a \(role.rawValue) (\(participant.rawValue)); \(identified)"))
        actions += enteredCall(seats.count - 1)
        return actions
    }

    public mutating func deny(_ participant: ParticipantID, by connection: ConnectionID, now: Date) throws(SignalError) -> [Action] {
        let host = try requireVeileder(connection)
        guard let index = lobby.firstIndex(where: { $0.member.participant == participant }) else {
            throw SignalError(.notWaiting, "nobody with that id is waiting")
        }
        let waiting = lobby.remove(at: index)
        return [
            .audit(.deny, actor: host, outcome: .allowed, reason: "veileder denied a \(waiting.member.role.rawValue) (\(participant.rawValue))"),
            .send(waiting.connection, .denied),
            .close(waiting.connection, .normal, reason: "denied"),
        ]
    }

    /// The veileder's short message to someone waiting ("Jeg kommer om fem
    /// minutter"); the audit entry says that it was sent, never what it said.
    public func hold(_ participant: ParticipantID, text: String, by connection: ConnectionID) throws(SignalError) -> [Action] {
        let host = try requireVeileder(connection)
        guard let waiting = lobby.first(where: { $0.member.participant == participant }) else {
            throw SignalError(.notWaiting, "nobody with that id is waiting")
        }
        return [
            .audit(.hold, actor: host, outcome: .allowed, reason: "veileder asked a waiting \(waiting.member.role.rawValue) to hold on (\(participant.rawValue))"),
            .send(waiting.connection, .hold(text: text)),
        ]
    }

    /// The veileder's page says whether video is used in the call; only a
    /// change is recorded (as `room.media`, for the anonymous figures).
    public mutating func reportMedia(video: Bool, by connection: ConnectionID) throws(SignalError) -> [Action] {
        let host = try requireVeileder(connection)
        let reported = CallMedia(video: video)
        guard reported != media else { return [] }
        media = reported
        return [.audit(.media, actor: host, outcome: .allowed, reason: reported.auditReason)]
    }

    /// The link of `role` was replaced: whoever waits with the old one goes.
    public mutating func linkReplaced(role: ParticipantRole) -> [Action] {
        var actions: [Action] = []
        for waiting in lobby where waiting.member.role == role {
            actions += [
                .audit(.leave, actor: waiting.member, outcome: .denied, reason: "removed from the lobby: the \(role.rawValue) link was replaced"),
                .send(waiting.connection, .error(SignalError(.invalidToken, "this link was replaced; ask for a new one"))),
                .close(waiting.connection, .policyViolation, reason: "invalid-token"),
            ]
            if let host = veilederConnection { actions.append(.send(host, .lobbyLeft(participant: waiting.member.participant))) }
        }
        lobby.removeAll { $0.member.role == role }
        return actions
    }

    // MARK: In the call

    /// A device key announced by someone in the call: everyone else is told,
    /// and the roster shows its id.
    public mutating func announceKey(_ key: AnnouncedKey, from connection: ConnectionID) throws(SignalError) -> [Action] {
        let index = try seatIndex(of: connection)
        // The same key again on the same connection changes nothing (and is not logged again).
        if seats[index].key == key { return [] }
        let changed = seats[index].lastKeyId.map { $0 != key.keyId } ?? false
        let member = seats[index].member
        seats[index].key = key
        seats[index].lastKeyId = key.keyId
        var actions: [Action] = [
            .audit(.deviceKey, actor: member, outcome: .allowed, reason: changed ? "changed its device key to \(key.keyId)" : "announced its device key \(key.keyId)")
        ]
        let announcement = ServerMessage.KeyAnnouncement(from: member, publicKey: key.publicKey, keyId: key.keyId, changed: changed)
        for other in seats where other.member != member {
            if let target = other.connection { actions.append(.send(target, .key(announcement))) }
        }
        actions += rosterToEveryone()
        return actions
    }

    /// The one relay decision: a sealed box goes from someone in the call,
    /// under the key they announced, to one other participant of the same
    /// call who is connected, and only there.
    public func relay(_ signal: SealedSignal, to participant: ParticipantID, from connection: ConnectionID) throws(SignalError) -> Action {
        let sender = seats[try seatIndex(of: connection)]
        guard let key = sender.key, key.keyId == signal.senderKeyId else {
            throw SignalError(.badField, "\"senderKeyId\" is not the key you announced; send \"key\" first")
        }
        guard participant != sender.member.participant, let target = seats.first(where: { $0.member.participant == participant }) else {
            throw SignalError(.notInCall, "\"to\" is not in this call")
        }
        guard let targetConnection = target.connection else {
            throw SignalError(.peerAbsent, "that participant is not connected")
        }
        return .send(targetConnection, .signal(from: sender.member.participant, signal))
    }

    /// Who sends this chat message, if they may: someone in the call, under
    /// the key they announced, with copies only for keys of this call's
    /// participants (or their own).
    public func chatSender(_ envelope: ChatEnvelope, from connection: ConnectionID) throws(SignalError) -> Member {
        let sender = seats[try seatIndex(of: connection)]
        guard let key = sender.key, key.keyId == envelope.senderKeyId else {
            throw SignalError(.badField, "\"senderKeyId\" is not the key you announced; send \"key\" first")
        }
        let known = Set(seats.flatMap { [$0.key?.keyId, $0.lastKeyId] }.compactMap { $0 })
        for copy in envelope.copies where !known.contains(copy.recipientKeyId) {
            throw SignalError(.notInCall, "a copy is for a key that is not in this call")
        }
        return sender.member
    }

    /// Each stored copy goes live to the connected participant whose key it
    /// is addressed to; the sender's own copy stays for its history.
    public func deliver(_ copies: [StoredChat]) -> [Action] {
        copies.compactMap { stored in
            guard stored.copy.recipientKeyId != stored.senderKeyId,
                let target = seats.first(where: { $0.key?.keyId == stored.copy.recipientKeyId })?.connection
            else { return nil }
            return .send(target, .chat(stored))
        }
    }

    /// The key whose copies a participant in the call may read.
    public func historyKey(of connection: ConnectionID) throws(SignalError) -> (member: Member, keyId: String) {
        let seat = seats[try seatIndex(of: connection)]
        guard let key = seat.key else { throw SignalError(.badField, "send \"key\" first: history holds the copies for your key") }
        return (seat.member, key.keyId)
    }

    // MARK: Leaving

    /// A connection closed or said `leave`. A seat in the call is kept for the
    /// grace period; a place in the lobby is not.
    public mutating func disconnect(_ connection: ConnectionID, now: Date, explicit: Bool) -> [Action] {
        let why = explicit ? "left" : "connection lost"
        if let index = seats.firstIndex(where: { $0.connection == connection }) {
            seats[index].connection = nil
            seats[index].leftAt = now
            seats[index].key = nil
            let member = seats[index].member
            return [.audit(.leave, actor: member, outcome: .allowed, reason: "\(member.role.rawValue) \(why)")] + rosterToEveryone()
        }
        if let index = lobby.firstIndex(where: { $0.connection == connection }) {
            let waiting = lobby.remove(at: index)
            var actions: [Action] = [
                .audit(.leave, actor: waiting.member, outcome: .allowed, reason: "\(waiting.member.role.rawValue) \(why) while waiting")
            ]
            if let host = veilederConnection { actions.append(.send(host, .lobbyLeft(participant: waiting.member.participant))) }
            return actions
        }
        return []
    }

    /// Frees seats whose grace period has passed (their resume tokens lead
    /// nowhere once the seats are stored without them).
    public mutating func sweep(now: Date) {
        seats.removeAll { seat in
            guard let leftAt = seat.leftAt else { return false }
            return now.timeIntervalSince(leftAt) > configuration.resumeGrace
        }
    }

    /// The veileder ends the consultation from inside the room.
    public func end(by connection: ConnectionID) throws(SignalError) -> [Action] {
        _ = try requireVeileder(connection)
        return closeAll()
    }

    /// Everyone is told `ended` and disconnected; every resume token dies.
    public func closeAll() -> [Action] {
        var actions: [Action] = []
        for connection in connections {
            actions.append(.send(connection, .ended))
            actions.append(.close(connection, .normal, reason: "ended"))
        }
        return actions
    }

    // MARK: Helpers

    private var veilederConnection: ConnectionID? { seats.first { $0.member.role == .veileder }?.connection }

    /// The seat of a connection in the call; a precise refusal otherwise.
    private func seatIndex(of connection: ConnectionID) throws(SignalError) -> Int {
        if let index = seats.firstIndex(where: { $0.connection == connection }) { return index }
        if lobby.contains(where: { $0.connection == connection }) {
            throw SignalError(.notAdmitted, "wait until the veileder lets you in")
        }
        throw SignalError(.forbidden, "not in this consultation")
    }

    private func requireVeileder(_ connection: ConnectionID) throws(SignalError) -> Member {
        guard let seat = seats.first(where: { $0.member.role == .veileder && $0.connection == connection }) else {
            throw SignalError(.forbidden, "only the veileder may do that")
        }
        return seat.member
    }

    /// A new connection takes a seat (a second tab, or a resume): the old
    /// connection is told and closed, and the new one must announce its key.
    private mutating func takeOver(_ index: Int, connection: ConnectionID, resume: TokenHash) -> [Action] {
        var actions: [Action] = []
        if let old = seats[index].connection {
            actions += [
                .send(old, .error(SignalError(.sessionReplaced, "opened in another window"))),
                .close(old, .policyViolation, reason: "session-replaced"),
            ]
        }
        seats[index].connection = connection
        seats[index].resume = resume
        seats[index].leftAt = nil
        seats[index].key = nil
        return actions
    }

    /// Someone has just taken seat `index`: they get `admitted` and the keys
    /// of those already in the call, and everyone gets the new roster.
    private func enteredCall(_ index: Int) -> [Action] {
        let seat = seats[index]
        guard let connection = seat.connection else { return [] }
        var actions: [Action] = [.admitted(connection, seat.member.participant)]
        for other in seats where other.member != seat.member && other.connection != nil {
            if let key = other.key {
                actions.append(.send(connection, .key(.init(from: other.member, publicKey: key.publicKey, keyId: key.keyId, changed: false))))
            }
        }
        return actions + rosterToEveryone()
    }

    private func rosterToEveryone() -> [Action] {
        let roster = roster
        return seats.compactMap(\.connection).map { .send($0, .roster(roster)) }
    }
}
