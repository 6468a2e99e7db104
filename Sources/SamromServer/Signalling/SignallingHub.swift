import Foundation
import Metrics
import Logging
import SamromCore

/// Connections and rooms: every signalling decision happens here, one at a
/// time. Rooms are value-type state machines (`Room`); the hub performs the
/// actions they return: it sends, closes, audits and indexes resume tokens.
public actor SignallingHub {
    /// What the socket handler writes out for a connection.
    public enum Outbound: Sendable, Equatable {
        /// Encoded to JSON by the connection's own writer, not by the hub:
        /// the hub is one actor for all rooms, so its time is the scarce one.
        case message(ServerMessage)
        case close(WebSocketCloseCode, reason: String)
    }

    struct Connection {
        let outbox: AsyncStream<Outbound>.Continuation
        /// The account from the session cookie sent with the upgrade, if any.
        let account: Account?
        let clientIP: String?
        var consultation: ConsultationID?
        var peer: ServerMessage.Peer?
        /// Set once a close was sent; later frames are ignored.
        var closing = false
    }

    let store: any ConsultationStore & ChatStore
    let auditor: Auditor
    let clock: WallClock
    let iceServers: IceServerProvider
    let roomConfiguration: Room.Configuration
    let metrics: ServerMetrics
    let logger: Logger

    var connections: [ConnectionID: Connection] = [:]
    /// Written only through `setRoom`, which keeps `routes` in step.
    private(set) var rooms: [ConsultationID: Room] = [:]
    /// Who relays to whom without asking the hub; see `RelayRoutes`.
    nonisolated let routes = RelayRoutes()
    private var resumeIndex: [TokenHash: ConsultationID] = [:]
    /// The account behind each veileder participant, for the audit log.
    private var veilederAccounts: [ParticipantID: Account] = [:]
    /// Each participant's latest client address, per room, so the room's
    /// audit entries say from where (kept only while the room exists).
    private var addresses: [ConsultationID: [ParticipantID: String]] = [:]
    /// Each role's announced chat key id, per room, so that checking a chat
    /// envelope's sender needs no database read (kept only while the room exists).
    var chatKeyIDs: [ConsultationID: [ParticipantRole: String]] = [:]
    private var nextConnection: UInt64 = 0

    /// Pending messages per connection before it counts as too slow.
    static let outboxCapacity = 1024

    public init(
        store: any ConsultationStore & ChatStore, auditor: Auditor, clock: WallClock, iceServers: IceServerProvider,
        roomConfiguration: Room.Configuration, metrics: ServerMetrics, logger: Logger
    ) {
        self.store = store
        self.auditor = auditor
        self.clock = clock
        self.iceServers = iceServers
        self.roomConfiguration = roomConfiguration
        self.metrics = metrics
        self.logger = logger
    }

    // MARK: Connections

    public func connect(account: Account?, clientIP: String?) -> (ConnectionID, AsyncStream<Outbound>) {
        nextConnection += 1
        let id = ConnectionID(nextConnection)
        let (stream, continuation) = AsyncStream<Outbound>.makeStream(bufferingPolicy: .bufferingOldest(Self.outboxCapacity))
        connections[id] = Connection(outbox: continuation, account: account, clientIP: clientIP)
        routes.opened(id, outbox: continuation)
        metrics.connections.increment()
        return (id, stream)
    }

    /// The socket is gone (closed, dropped, or timed out).
    public func disconnected(_ id: ConnectionID) async {
        guard let connection = connections.removeValue(forKey: id) else { return }
        routes.closed(id)
        connection.outbox.finish()
        metrics.connections.decrement()
        guard let consultation = connection.consultation, var room = rooms[consultation] else { return }
        let actions = room.disconnect(id, now: clock.now, explicit: false)
        setRoom(room, for: consultation)
        await perform(actions, in: consultation)
        dropRoomIfEmpty(consultation)
    }

    /// Called by the socket when its hello deadline passes.
    public func helloDeadline(_ id: ConnectionID) {
        guard let connection = connections[id], connection.consultation == nil, !connection.closing else { return }
        fail(id, SignalError(.helloTimeout, "no hello received in time"))
    }

    /// A frame that could not be accepted (parse error, rate limit).
    public func reject(_ error: SignalError, to id: ConnectionID) {
        metrics.rejectedMessages.increment()
        fail(id, error)
    }

    public func close(_ id: ConnectionID, code: WebSocketCloseCode, reason: String) {
        guard var connection = connections[id], !connection.closing else { return }
        connection.closing = true
        connections[id] = connection
        routes.closed(id)
        connection.outbox.yield(.close(code, reason: reason))
    }

    // MARK: Messages

    public func receive(_ message: ClientMessage, from id: ConnectionID) async {
        guard let connection = connections[id], !connection.closing else { return }
        metrics.messages.increment()
        if case .ping = message { return send(.pong, to: id) }
        if case .hello(let credential) = message {
            guard connection.consultation == nil else {
                return fail(id, SignalError(.alreadyJoined, "this connection has already said hello"))
            }
            return await hello(credential, connection: connection, id: id)
        }
        guard let consultation = connection.consultation, var room = rooms[consultation] else {
            return fail(id, SignalError(.helloRequired, "say hello first"))
        }
        let now = clock.now
        do {
            let actions: [Room.Action]
            switch message {
            case .admit(let participant):
                actions = try room.admit(participant, by: id, now: now)
            case .deny(let participant):
                actions = try room.deny(participant, by: id, now: now)
            case .offer, .answer, .ice, .media:
                actions = try room.relay(message, from: id)
                metrics.relayed.increment()
            case .leave:
                actions = room.disconnect(id, now: now, explicit: true) + [.close(id, .normal, reason: "left")]
            case .end:
                _ = try room.end(by: id)
                return await end(consultation, by: connection, clientIP: connection.clientIP)
            case .key(let publicKey):
                return await announceKey(publicKey, from: id, in: consultation)
            case .chat(let envelope):
                return await chat(envelope, from: id, in: consultation)
            case .history(let afterSeq, let limit):
                return await history(afterSeq: afterSeq, limit: limit, for: id, in: consultation)
            case .hello, .ping:
                return
            }
            setRoom(room, for: consultation)
            await perform(actions, in: consultation)
            dropRoomIfEmpty(consultation)
        } catch {
            // Inside a room, a refused request (admitting into a full call,
            // signalling too early) is answered; the session goes on.
            fail(id, error, mayClose: false)
        }
    }

    /// The consultation was ended over HTTP: everyone in its room is told.
    public func consultationEnded(_ consultation: ConsultationID) async {
        guard let room = rooms[consultation] else { return }
        await perform(room.closeAll(), in: consultation)
        setRoom(nil, for: consultation)
        addresses[consultation] = nil
        chatKeyIDs[consultation] = nil
    }

    /// Frees seats whose grace period passed; run periodically.
    public func sweep() async {
        let now = clock.now
        for (consultation, var room) in rooms {
            let actions = room.sweep(now: now)
            guard !actions.isEmpty else { continue }
            setRoom(room, for: consultation)
            await perform(actions, in: consultation)
            dropRoomIfEmpty(consultation)
        }
    }

    /// Who is waiting or in the call, for the veileder's list.
    public func presence(of consultation: ConsultationID) -> (waiting: Int, inCall: Int) {
        guard let room = rooms[consultation] else { return (0, 0) }
        let members = room.connections.compactMap { room.member($0) }
        return (members.filter { !$0.inCall }.count, members.filter(\.inCall).count)
    }

    public var connectionCount: Int { connections.count }

    // MARK: Hello

    private func hello(_ credential: ClientMessage.Credential, connection: Connection, id: ConnectionID) async {
        do {
            switch credential {
            case .consultation(let consultationID):
                try await veilederHello(consultationID, connection: connection, id: id)
            case .token(let token):
                try await deltakerHello(token, connection: connection, id: id)
            case .resume(let token):
                try await resumeHello(token, connection: connection, id: id)
            }
        } catch {
            fail(id, error)
        }
    }

    private func veilederHello(_ consultationID: ConsultationID, connection: Connection, id: ConnectionID) async throws {
        guard let account = connection.account else {
            try await audit(.join, .anonymous, consultationID, .denied, "not logged in", connection)
            throw SignalError(.forbidden, "log in to open a consultation")
        }
        let found = try await store.consultation(id: consultationID)
        guard let consultation = found, consultation.owner == account.id, account.role == .veileder else {
            try await audit(.join, .user(account), consultationID, .denied, "not the owner of this consultation", connection)
            throw SignalError(.forbidden, "this is not your consultation")
        }
        try await requireActive(consultation, actor: .user(account), connection: connection)
        guard connections[id] != nil else { return }  // went away while we looked
        let resume = ResumeToken.random()
        var room = rooms[consultationID] ?? Room(consultation: consultationID, configuration: roomConfiguration)
        let entry = room.veilederArrives(connection: id, proposed: .random(), resume: resume.hash, now: clock.now)
        setRoom(room, for: consultationID)
        veilederAccounts[entry.you.participant] = account
        await enter(entry, consultation: consultation, resume: resume, id: id, showTitle: true)
    }

    private func deltakerHello(_ token: JoinToken, connection: Connection, id: ConnectionID) async throws {
        guard let consultation = try await store.consultation(linkHash: token.hash) else {
            try await audit(.join, .anonymous, nil, .denied, "invalid or revoked link", connection)
            throw SignalError(.invalidToken, "this link is not valid")
        }
        try await requireActive(consultation, actor: .anonymous, connection: connection)
        guard connections[id] != nil else { return }
        let resume = ResumeToken.random()
        var room = rooms[consultation.id] ?? Room(consultation: consultation.id, configuration: roomConfiguration)
        let proposed = ParticipantID.random()
        do {
            let entry = try room.deltakerKnocks(connection: id, proposed: proposed, resume: resume.hash, now: clock.now)
            setRoom(room, for: consultation.id)
            await enter(entry, consultation: consultation, resume: resume, id: id, showTitle: false)
        } catch {
            try await audit(.knock, .participant(proposed, role: .deltaker), consultation.id, .denied, "lobby full", connection)
            throw error
        }
    }

    private func resumeHello(_ token: ResumeToken, connection: Connection, id: ConnectionID) async throws {
        guard let consultationID = resumeIndex[token.hash], let consultation = try await store.consultation(id: consultationID)
        else {
            try await audit(.resume, .anonymous, nil, .denied, "unknown or used resume token", connection)
            throw SignalError(.invalidToken, "nothing to resume; join again")
        }
        try await requireActive(consultation, actor: .anonymous, connection: connection)
        guard connections[id] != nil, var room = rooms[consultationID] else {
            throw SignalError(.invalidToken, "nothing to resume; join again")
        }
        let next = ResumeToken.random()
        let entry: Room.Entry
        do {
            entry = try room.resume(token.hash, next: next.hash, connection: id, now: clock.now)
        } catch {
            // An expired seat is freed by the attempt; keep that.
            setRoom(room, for: consultationID)
            dropRoomIfEmpty(consultationID)
            try await audit(.resume, .anonymous, consultationID, .denied, "resume refused: \(error.code.rawValue)", connection)
            throw error
        }
        if entry.you.role == .veileder, let owner = veilederAccounts[entry.you.participant], connection.account?.id != owner.id {
            // A resume token alone does not make someone the veileder: the
            // session cookie of the same account must come with it.
            try await audit(.resume, .anonymous, consultationID, .denied, "veileder resume without the owner's session", connection)
            throw SignalError(.forbidden, "log in as the veileder of this consultation")
        }
        setRoom(room, for: consultationID)
        await enter(entry, consultation: consultation, resume: next, id: id, showTitle: entry.you.role == .veileder)
    }

    /// Refuses ended and expired consultations, with the reason in the log.
    private func requireActive(_ consultation: Consultation, actor: AuditActor, connection: Connection) async throws {
        switch consultation.status(at: clock.now) {
        case .active:
            return
        case .ended:
            try await audit(.join, actor, consultation.id, .denied, "consultation has ended", connection)
            throw SignalError(.ended, "this consultation has ended")
        case .expired:
            try await audit(.join, actor, consultation.id, .denied, "link has expired", connection)
            throw SignalError(.expired, "this link has expired")
        }
    }

    /// Sends `welcome`, then performs what entering the room caused.
    private func enter(_ entry: Room.Entry, consultation: Consultation, resume: ResumeToken, id: ConnectionID, showTitle: Bool) async {
        connections[id]?.consultation = consultation.id
        connections[id]?.peer = entry.you
        addresses[consultation.id, default: [:]][entry.you.participant] = connections[id]?.clientIP
        resumeIndex[resume.hash] = consultation.id
        let welcome = ServerMessage.Welcome(
            you: entry.you,
            consultation: .init(id: consultation.id, expiresAt: consultation.expiresAt, title: showTitle ? consultation.title : nil),
            iceServers: iceServers.servers(for: entry.you.participant, now: clock.now),
            iceTransportPolicy: iceServers.transportPolicy,
            peers: entry.peers,
            resume: resume)
        // Audit first: the welcome reports the join as done.
        let audits = entry.actions.filter { if case .audit = $0 { true } else { false } }
        let rest = entry.actions.filter { if case .audit = $0 { false } else { true } }
        guard await perform(audits, in: consultation.id) else { return }
        send(.welcome(welcome), to: id)
        await perform(rest, in: consultation.id)
        // Someone in the call also gets the chat keys of those already there.
        if rooms[consultation.id]?.member(id)?.inCall == true {
            for peer in entry.peers { await deliverStoredKey(of: peer, to: id, in: consultation.id) }
        }
    }

    private func end(_ consultation: ConsultationID, by connection: Connection, clientIP: String?) async {
        let actor = connection.account.map(AuditActor.user) ?? .anonymous
        do {
            _ = try await store.endConsultation(consultation, at: clock.now)
            try await auditor.record(
                .consultationEnd, actor: actor, consultation: consultation, outcome: .allowed,
                reason: "veileder ended the consultation in the call", clientIP: clientIP)
        } catch {
            logger.error("ending a consultation failed", metadata: ["error.type": "\(type(of: error))"])
        }
        await consultationEnded(consultation)
    }

    // MARK: Performing actions

    /// Performs room actions in order. Returns false if an audit entry could
    /// not be written, in which case nothing after it is done.
    @discardableResult
    private func perform(_ actions: [Room.Action], in consultation: ConsultationID) async -> Bool {
        for action in actions {
            switch action {
            case .send(let id, let message):
                send(message, to: id)
                if case .peerJoined(let peer) = message { await deliverStoredKey(of: peer, to: id, in: consultation) }
            case .close(let id, let code, let reason):
                connections[id]?.consultation = nil
                close(id, code: code, reason: reason)
            case .forgetResume(let hash):
                resumeIndex[hash] = nil
            case .audit(let auditAction, let peer, let outcome, let reason):
                let actor: AuditActor =
                    peer.role == .veileder
                    ? (veilederAccounts[peer.participant].map(AuditActor.user) ?? .participant(peer.participant, role: .veileder))
                    : .participant(peer.participant, role: peer.role)
                do {
                    try await auditor.record(
                        auditAction, actor: actor, consultation: consultation, outcome: outcome, reason: reason,
                        clientIP: addresses[consultation]?[peer.participant])
                } catch {
                    logger.error("audit write failed; action not performed", metadata: ["action": "\(auditAction)"])
                    return false
                }
            }
        }
        return true
    }

    func audit(
        _ action: AuditAction, _ actor: AuditActor, _ consultation: ConsultationID?, _ outcome: AuditOutcome,
        _ reason: String, _ connection: Connection
    ) async throws {
        try await auditor.record(
            action, actor: actor, consultation: consultation, outcome: outcome, reason: reason, clientIP: connection.clientIP)
    }

    func veilederAccount(of participant: ParticipantID) -> Account? { veilederAccounts[participant] }

    func send(_ message: ServerMessage, to id: ConnectionID) {
        guard let connection = connections[id], !connection.closing else { return }
        if !connection.outbox.deliver(message) {
            logger.notice("closing a connection that does not keep up")
            routes.closed(id)
        }
    }

    /// Answers with an `error`; errors that end a session also close the
    /// connection unless `mayClose` is false.
    func fail(_ id: ConnectionID, _ error: any Error, mayClose: Bool = true) {
        let signalError: SignalError
        if let error = error as? SignalError {
            signalError = error
        } else {
            logger.error("signalling failed", metadata: ["error.type": "\(type(of: error))"])
            signalError = SignalError(.internalError, "something went wrong on the server")
        }
        send(.error(signalError), to: id)
        if mayClose, let code = signalError.closeCode {
            close(id, code: code, reason: signalError.code.rawValue)
        }
    }

    /// The one way a room is stored or dropped, so relay routes follow it.
    func setRoom(_ room: Room?, for consultation: ConsultationID) {
        routes.roomChanged(from: rooms[consultation], to: room)
        rooms[consultation] = room
    }

    private func dropRoomIfEmpty(_ consultation: ConsultationID) {
        if let room = rooms[consultation], room.isEmpty {
            setRoom(nil, for: consultation)
            addresses[consultation] = nil
            chatKeyIDs[consultation] = nil
        }
    }
}

extension AsyncStream<SignallingHub.Outbound>.Continuation {
    /// Queues a message for the connection's writer. False when its outbox
    /// is full: the client does not read and more messages cannot help it,
    /// so the outbox is finished (the writer then closes with `too-slow`).
    func deliver(_ message: ServerMessage) -> Bool {
        guard case .dropped = yield(.message(message)) else { return true }
        finish()
        return false
    }
}
