import Foundation

/// The lobby and call of one consultation, as a value-type state machine.
///
/// Each `mutating` method takes the current time and returns the actions the
/// caller must perform (send, close, forget a resume token, audit), so every
/// transition is tested without sockets or clocks. At most one veileder and
/// one admitted deltaker are in the call; others wait in the lobby.
public struct Room: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// How long a dropped participant may come back with their resume token.
        public var resumeGrace: TimeInterval
        /// How many may wait in the lobby at once (one link can be shared).
        public var lobbyCapacity: Int

        public init(resumeGrace: TimeInterval = 120, lobbyCapacity: Int = 8) {
            self.resumeGrace = resumeGrace
            self.lobbyCapacity = lobbyCapacity
        }
    }

    /// What the caller must do after a transition, in order.
    public enum Action: Sendable, Equatable {
        case send(ConnectionID, ServerMessage)
        case close(ConnectionID, WebSocketCloseCode, reason: String)
        /// The resume token with this hash no longer leads anywhere.
        case forgetResume(TokenHash)
        case audit(AuditAction, actor: ServerMessage.Peer, outcome: AuditOutcome, reason: String)
    }

    /// The result of entering the room: who you are, who is already there,
    /// and what to do after sending `welcome`.
    public struct Entry: Sendable, Equatable {
        public var you: ServerMessage.Peer
        public var peers: [ServerMessage.Peer]
        public var actions: [Action]
    }

    /// A place in the call, kept through a short disconnection.
    struct Seat: Sendable, Equatable {
        var peer: ServerMessage.Peer
        var connection: ConnectionID?
        var resume: TokenHash
        var leftAt: Date?
    }

    struct Waiting: Sendable, Equatable {
        var participant: ParticipantID
        var connection: ConnectionID
        var resume: TokenHash
        var knockedAt: Date
    }

    public let consultation: ConsultationID
    public let configuration: Configuration
    private(set) var veileder: Seat?
    private(set) var deltaker: Seat?
    private(set) var lobby: [Waiting] = []

    public init(consultation: ConsultationID, configuration: Configuration = .init()) {
        self.consultation = consultation
        self.configuration = configuration
    }

    // MARK: Queries

    /// Nobody connected, waiting, or within their grace period.
    public var isEmpty: Bool { veileder == nil && deltaker == nil && lobby.isEmpty }

    /// Every live connection in the room.
    public var connections: [ConnectionID] {
        [veileder?.connection, deltaker?.connection].compactMap { $0 } + lobby.map(\.connection)
    }

    /// Who a connection is here, and whether they are in the call.
    public func member(_ connection: ConnectionID) -> (peer: ServerMessage.Peer, inCall: Bool)? {
        if let seat = veileder, seat.connection == connection { return (seat.peer, true) }
        if let seat = deltaker, seat.connection == connection { return (seat.peer, true) }
        if let waiting = lobby.first(where: { $0.connection == connection }) {
            return (.init(participant: waiting.participant, role: .deltaker), false)
        }
        return nil
    }

    /// The connection of the other person in the call, if any: where a
    /// call participant's chat and key announcements go.
    public func counterpart(of connection: ConnectionID) -> ConnectionID? {
        if veileder?.connection == connection { return deltaker?.connection }
        if deltaker?.connection == connection { return veileder?.connection }
        return nil
    }

    // MARK: Entering

    /// The consultation's owner arrives (authenticated by the caller). A
    /// second tab takes over from the first.
    public mutating func veilederArrives(
        connection: ConnectionID, proposed: ParticipantID, resume: TokenHash, now: Date
    ) -> Entry {
        var actions: [Action] = []
        let participant = veileder?.peer.participant ?? proposed
        let peer = ServerMessage.Peer(participant: participant, role: .veileder)
        if let old = veileder {
            actions.append(.forgetResume(old.resume))
            if let oldConnection = old.connection {
                actions += replaced(oldConnection)
                if let other = deltaker?.connection { actions.append(.send(other, .peerLeft(peer))) }
            }
        }
        veileder = Seat(peer: peer, connection: connection, resume: resume, leftAt: nil)
        actions.append(.audit(.join, actor: peer, outcome: .allowed, reason: "veileder opened the consultation"))
        for waiting in lobby {
            actions.append(.send(connection, .knock(participant: waiting.participant)))
        }
        var peers: [ServerMessage.Peer] = []
        if let seat = deltaker, let other = seat.connection {
            peers.append(seat.peer)
            actions.append(.send(other, .peerJoined(peer)))
        }
        return Entry(you: peer, peers: peers, actions: actions)
    }

    /// A deltaker with a valid link knocks and waits in the lobby.
    public mutating func deltakerKnocks(
        connection: ConnectionID, proposed: ParticipantID, resume: TokenHash, now: Date
    ) throws(SignalError) -> Entry {
        guard lobby.count < configuration.lobbyCapacity else {
            throw SignalError(.roomFull, "too many are waiting for this consultation")
        }
        lobby.append(Waiting(participant: proposed, connection: connection, resume: resume, knockedAt: now))
        let peer = ServerMessage.Peer(participant: proposed, role: .deltaker)
        var actions: [Action] = [
            .audit(.knock, actor: peer, outcome: .allowed, reason: "deltaker is waiting in the lobby"),
            .send(connection, .lobby),
        ]
        if let host = veileder?.connection {
            actions.append(.send(host, .knock(participant: proposed)))
        }
        return Entry(you: peer, peers: [], actions: actions)
    }

    /// Someone comes back with a resume token (hash) within the grace period;
    /// `next` is the hash of the fresh token their new `welcome` carries.
    public mutating func resume(
        _ hash: TokenHash, next: TokenHash, connection: ConnectionID, now: Date
    ) throws(SignalError) -> Entry {
        let isVeileder: Bool
        if let seat = veileder, seat.resume.matches(hash) {
            isVeileder = true
        } else if let seat = deltaker, seat.resume.matches(hash) {
            isVeileder = false
        } else {
            throw SignalError(.invalidToken, "nothing to resume")
        }
        var seat = (isVeileder ? veileder : deltaker)!
        var actions: [Action] = [.forgetResume(seat.resume)]
        if let leftAt = seat.leftAt, now.timeIntervalSince(leftAt) > configuration.resumeGrace {
            if isVeileder { veileder = nil } else { deltaker = nil }
            throw SignalError(.expired, "too long has passed; join again")
        }
        let other = isVeileder ? deltaker : veileder
        if let oldConnection = seat.connection {
            actions += replaced(oldConnection)
            if let otherConnection = other?.connection { actions.append(.send(otherConnection, .peerLeft(seat.peer))) }
        }
        seat.connection = connection
        seat.resume = next
        seat.leftAt = nil
        if isVeileder { veileder = seat } else { deltaker = seat }
        actions.append(.audit(.resume, actor: seat.peer, outcome: .allowed, reason: "came back within the grace period"))
        if !isVeileder { actions.append(.send(connection, .admitted)) }
        if isVeileder {
            for waiting in lobby { actions.append(.send(connection, .knock(participant: waiting.participant))) }
        }
        var peers: [ServerMessage.Peer] = []
        if let other, let otherConnection = other.connection {
            peers.append(other.peer)
            actions.append(.send(otherConnection, .peerJoined(seat.peer)))
        }
        return Entry(you: seat.peer, peers: peers, actions: actions)
    }

    // MARK: The veileder decides

    public mutating func admit(_ participant: ParticipantID, by connection: ConnectionID, now: Date) throws(SignalError) -> [Action] {
        let host = try requireVeileder(connection)
        guard let index = lobby.firstIndex(where: { $0.participant == participant }) else {
            throw SignalError(.notWaiting, "nobody with that id is waiting")
        }
        var actions: [Action] = []
        if let current = deltaker {
            guard current.connection == nil else {
                throw SignalError(.roomFull, "another deltaker is already in the call")
            }
            // The earlier deltaker dropped and has not come back: their place goes.
            actions.append(.forgetResume(current.resume))
        }
        let waiting = lobby.remove(at: index)
        let peer = ServerMessage.Peer(participant: waiting.participant, role: .deltaker)
        deltaker = Seat(peer: peer, connection: waiting.connection, resume: waiting.resume, leftAt: nil)
        actions += [
            .audit(.admit, actor: host.peer, outcome: .allowed, reason: "veileder admitted \(participant.rawValue)"),
            .send(waiting.connection, .admitted),
            .send(waiting.connection, .peerJoined(host.peer)),
            .send(connection, .peerJoined(peer)),
        ]
        return actions
    }

    public mutating func deny(_ participant: ParticipantID, by connection: ConnectionID, now: Date) throws(SignalError) -> [Action] {
        let host = try requireVeileder(connection)
        guard let index = lobby.firstIndex(where: { $0.participant == participant }) else {
            throw SignalError(.notWaiting, "nobody with that id is waiting")
        }
        let waiting = lobby.remove(at: index)
        return [
            .audit(.deny, actor: host.peer, outcome: .allowed, reason: "veileder denied \(participant.rawValue)"),
            .send(waiting.connection, .denied),
            .close(waiting.connection, .normal, reason: "denied"),
            .forgetResume(waiting.resume),
        ]
    }

    // MARK: In the call

    /// Relays offer, answer, ICE and media state to the other side of the
    /// call, and only there.
    public func relay(_ message: ClientMessage, from connection: ConnectionID) throws(SignalError) -> [Action] {
        let sender: Seat
        let receiver: Seat?
        if let seat = veileder, seat.connection == connection {
            sender = seat
            receiver = deltaker
        } else if let seat = deltaker, seat.connection == connection {
            sender = seat
            receiver = veileder
        } else if lobby.contains(where: { $0.connection == connection }) {
            throw SignalError(.notAdmitted, "wait until the veileder lets you in")
        } else {
            throw SignalError(.forbidden, "not in this consultation")
        }
        guard let target = receiver?.connection else {
            throw SignalError(.peerAbsent, "the other participant is not connected")
        }
        let from = sender.peer.participant
        switch message {
        case .offer(let sdp): return [.send(target, .offer(from: from, sdp: sdp))]
        case .answer(let sdp): return [.send(target, .answer(from: from, sdp: sdp))]
        case .ice(let candidate): return [.send(target, .ice(from: from, candidate: candidate))]
        case .media(let video): return [.send(target, .media(from: from, video: video))]
        default: throw SignalError(.badField, "this message is not relayed")
        }
    }

    // MARK: Leaving

    /// A connection closed or said `leave`. A seat in the call is kept for the
    /// grace period; a place in the lobby is not.
    public mutating func disconnect(_ connection: ConnectionID, now: Date, explicit: Bool) -> [Action] {
        let why = explicit ? "left" : "connection lost"
        if var seat = veileder, seat.connection == connection {
            seat.connection = nil
            seat.leftAt = now
            veileder = seat
            var actions: [Action] = [.audit(.leave, actor: seat.peer, outcome: .allowed, reason: why)]
            if let other = deltaker?.connection { actions.append(.send(other, .peerLeft(seat.peer))) }
            return actions
        }
        if var seat = deltaker, seat.connection == connection {
            seat.connection = nil
            seat.leftAt = now
            deltaker = seat
            var actions: [Action] = [.audit(.leave, actor: seat.peer, outcome: .allowed, reason: why)]
            if let other = veileder?.connection { actions.append(.send(other, .peerLeft(seat.peer))) }
            return actions
        }
        if let index = lobby.firstIndex(where: { $0.connection == connection }) {
            let waiting = lobby.remove(at: index)
            let peer = ServerMessage.Peer(participant: waiting.participant, role: .deltaker)
            var actions: [Action] = [
                .audit(.leave, actor: peer, outcome: .allowed, reason: "\(why) while waiting"),
                .forgetResume(waiting.resume),
            ]
            if let host = veileder?.connection { actions.append(.send(host, .lobbyLeft(participant: waiting.participant))) }
            return actions
        }
        return []
    }

    /// Frees seats whose grace period has passed.
    public mutating func sweep(now: Date) -> [Action] {
        var actions: [Action] = []
        for isVeileder in [true, false] {
            guard let seat = isVeileder ? veileder : deltaker, let leftAt = seat.leftAt,
                now.timeIntervalSince(leftAt) > configuration.resumeGrace
            else { continue }
            actions.append(.forgetResume(seat.resume))
            if isVeileder { veileder = nil } else { deltaker = nil }
        }
        return actions
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
        for hash in [veileder?.resume, deltaker?.resume].compactMap({ $0 }) + lobby.map(\.resume) {
            actions.append(.forgetResume(hash))
        }
        return actions
    }

    // MARK: Helpers

    private func requireVeileder(_ connection: ConnectionID) throws(SignalError) -> Seat {
        guard let seat = veileder, seat.connection == connection else {
            throw SignalError(.forbidden, "only the veileder may do that")
        }
        return seat
    }

    private func replaced(_ connection: ConnectionID) -> [Action] {
        [
            .send(connection, .error(SignalError(.sessionReplaced, "opened in another window"))),
            .close(connection, .policyViolation, reason: "session-replaced"),
        ]
    }
}
