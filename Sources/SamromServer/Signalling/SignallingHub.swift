import Foundation
import Logging
import Metrics
import SamromCore

/// The door of `/ws`: it registers connections, authenticates `hello`
/// (cookie, join link or resume token), and routes each connection to its
/// consultation's `ConsultationSession`, which owns everything about the
/// call from then on. It keeps nothing of a consultation beyond a reference
/// to its live session.
public actor SignallingHub {
    struct Connection {
        let outbox: Outbox
        let account: Account?
        let clientIP: String?
        /// An ID-porten verification sent with the upgrade (its cookie), if any.
        let identified: VerifiedIdentity?
        /// The instance the client asked for (`/ws?i=`), after a `moved`.
        let askedFor: String?
        /// Set once the connection has entered a room.
        var session: ConsultationSession?
        /// Set once a close was sent; later frames are ignored.
        var closing = false
        /// Its hello came in time and is being answered (the store may be slow).
        var greeted = false
        /// When the socket was upgraded: `hello` is due `helloTimeout` after
        /// (on the monotonic clock: a step of the wall clock drops no one).
        let connectedAt: ContinuousClock.Instant
    }

    let store: any ConsultationStore & ChatStore & CallStore
    let auditor: Auditor
    let clock: WallClock
    let metrics: ServerMetrics
    let logger: Logger
    private let environment: ConsultationSession.Environment
    /// Refused hellos per client address (a bad link, no login, an unknown resume token).
    private var helloThrottle: LoginThrottle
    /// Bytes a connection's outbox may hold before it counts as too slow.
    private let maxOutboxBytes: Int
    /// How long a connection has for its `hello` (checked by `sweep`, every second).
    private let helloTimeout: Duration

    private var connections: [ConnectionID: Connection] = [:]
    private var sessions: [ConsultationID: ConsultationSession] = [:]
    private var nextConnection: UInt64 = 0

    public init(
        store: any ConsultationStore & ChatStore & CallStore, auditor: Auditor, clock: WallClock, iceServers: IceServerProvider,
        roomConfiguration: Room.Configuration, instance: Instance, homeLease: TimeInterval, routeSecret: [UInt8],
        helloThrottle: LoginThrottle.Policy = .init(freeFailures: 20), helloTimeout: Duration = .seconds(5),
        maxOutboxBytes: Int = 4 << 20, chatLimits: ChatQuota.Limits = .init(), metrics: ServerMetrics, logger: Logger
    ) {
        self.helloThrottle = LoginThrottle(policy: helloThrottle)
        self.maxOutboxBytes = maxOutboxBytes
        self.helloTimeout = helloTimeout
        self.store = store
        self.auditor = auditor
        self.clock = clock
        self.metrics = metrics
        self.logger = logger
        environment = .init(
            store: store, auditor: auditor, clock: clock, iceServers: iceServers, roomConfiguration: roomConfiguration,
            metrics: metrics, logger: logger, instance: instance, homeLease: homeLease, routeSecret: routeSecret,
            chatLimits: chatLimits,
            maxHistoryBytes: max(64 << 10, maxOutboxBytes / 4))
    }

    // MARK: Connections

    func connect(
        account: Account?, clientIP: String?, identified: VerifiedIdentity? = nil, askedFor: String? = nil
    ) -> (ConnectionID, Outbox) {
        nextConnection += 1
        let id = ConnectionID(nextConnection)
        let outbox = Outbox(maxBytes: maxOutboxBytes)
        connections[id] = Connection(
            outbox: outbox, account: account, clientIP: clientIP, identified: identified, askedFor: askedFor,
            connectedAt: .now)
        metrics.connections.increment()
        return (id, outbox)
    }

    /// The socket is gone (closed, dropped, or timed out).
    public func disconnected(_ id: ConnectionID) async {
        guard let connection = connections.removeValue(forKey: id) else { return }
        connection.outbox.finish()
        metrics.connections.decrement()
        guard let session = connection.session else { return }
        await session.disconnected(id)
        await forgetIfRetired(session)
    }

    /// Drops the connections whose `hello` is overdue (one timer for all of
    /// them, not a task per connection).
    private func dropSilentConnections() {
        let now = ContinuousClock.now
        for (id, connection) in connections
        where connection.session == nil && !connection.greeted && !connection.closing
            && now - connection.connectedAt >= helloTimeout
        {
            fail(id, SignalError(.helloTimeout, "no hello received in time"))
        }
    }

    /// A frame that could not be accepted (parse error, rate limit); the
    /// connection lives on unless the error ends a session.
    public func reject(_ error: SignalError, to id: ConnectionID) {
        metrics.rejectedMessages.increment()
        fail(id, error, mayClose: connections[id]?.session == nil)
    }

    public func close(_ id: ConnectionID, code: WebSocketCloseCode, reason: String) {
        guard var connection = connections[id], !connection.closing else { return }
        connection.closing = true
        connections[id] = connection
        connection.outbox.close(code, reason: reason)
    }

    // MARK: Before hello

    /// A frame from a connection that has not entered a room yet.
    public func receive(_ message: ClientMessage, from id: ConnectionID) {
        guard let connection = connections[id], !connection.closing else { return }
        metrics.messages.increment()
        if case .ping = message {
            _ = connection.outbox.deliver(.pong)
        } else {
            fail(id, SignalError(.helloRequired, "say hello first"))
        }
    }

    /// Authenticates a `hello` and enters the consultation's room. Returns
    /// the session the connection now belongs to, or nil when it was refused
    /// (the error is sent, and the connection closed).
    func hello(_ credential: ClientMessage.Credential, from id: ConnectionID) async -> ConsultationSession? {
        guard let connection = connections[id], !connection.closing else { return nil }
        guard connection.session == nil, !connection.greeted else {
            fail(id, SignalError(.alreadyJoined, "this connection has already said hello"), mayClose: false)
            return nil
        }
        connections[id]?.greeted = true
        // Someone who keeps presenting bad credentials from one address is
        // slowed down before the store is asked again.
        let address: [LoginThrottle.Key] = connection.clientIP.map { [.address($0)] } ?? []
        if let wait = helloThrottle.retryAfter(address, now: clock.now) {
            fail(id, SignalError(.rateLimited, "too many refused attempts; wait \(Int(wait.rounded(.up))) s"), forceClose: true)
            return nil
        }
        do {
            let (consultation, arrival) = try await authenticate(credential, connection: connection)
            let link = ConsultationSession.Link(
                outbox: connection.outbox, account: connection.account, clientIP: connection.clientIP, identified: connection.identified)
            while true {
                guard connections[id] != nil else { return nil }  // went away while we looked
                let session = sessions[consultation.id] ?? ConsultationSession(consultation: consultation, environment: environment)
                sessions[consultation.id] = session
                switch try await session.enter(arrival, connection: id, link: link, askedFor: connection.askedFor) {
                case .retired:
                    if sessions[consultation.id] === session { sessions[consultation.id] = nil }
                    continue
                case .moved(let moved):
                    // Not refused: the call is elsewhere, and the client goes there.
                    await forgetIfRetired(session)
                    metrics.moved.increment()
                    guard let outbox = connections[id]?.outbox else { return nil }
                    _ = outbox.deliver(.moved(moved))
                    close(id, code: .normal, reason: "moved")
                    return nil
                case .entered:
                    guard connections[id] != nil else {
                        // It closed while entering: the room must not keep a ghost.
                        await session.disconnected(id)
                        await forgetIfRetired(session)
                        return nil
                    }
                    connections[id]?.session = session
                    return session
                }
            }
        } catch {
            if let refusal = error as? SignalError, [.forbidden, .invalidToken].contains(refusal.code) {
                helloThrottle.recordFailure(address, now: clock.now)
            }
            // A refused hello ends the connection: one socket, one attempt.
            fail(id, error, forceClose: true)
            return nil
        }
    }

    /// Who the credential makes this connection, checked against the store;
    /// every refusal is audited.
    private func authenticate(
        _ credential: ClientMessage.Credential, connection: Connection
    ) async throws -> (Consultation, ConsultationSession.Arrival) {
        switch credential {
        case .consultation(let id):
            guard let account = connection.account else {
                try await audit(.join, .anonymous, id, .denied, "not logged in", connection)
                throw SignalError(.forbidden, "log in to open a consultation")
            }
            guard let consultation = try await store.consultation(id: id), consultation.owner == account.id, account.role == .veileder else {
                try await audit(.join, .user(account), id, .denied, "not the owner of this consultation", connection)
                throw SignalError(.forbidden, "this is not your consultation")
            }
            try await requireActive(consultation, actor: .user(account), connection: connection)
            return (consultation, .veileder(account))
        case .token(let token):
            guard let (consultation, role) = try await store.consultation(linkHash: token.hash) else {
                try await audit(.join, .anonymous, nil, .denied, "invalid or revoked link", connection)
                throw SignalError(.invalidToken, "this link is not valid")
            }
            // Not yet anyone, but the link says in which role they came.
            let actor = AuditActor(kind: .anonymous, id: nil, role: role.rawValue)
            try await requireActive(consultation, actor: actor, connection: connection)
            let window = environment.roomConfiguration.lobbyWindow
            if let booking = consultation.booking, !Booking.lobbyIsOpen(booking, window: window, at: clock.now) {
                try await audit(.join, actor, consultation.id, .denied, "before the lobby opens", connection)
                throw SignalError(
                    .tooEarly, "the waiting room opens \(Int(window / 60)) minutes before the booked time",
                    lobbyOpens: .init(startsAt: booking.startsAt, opensAt: booking.opensAt(window: window)))
            }
            return (consultation, .knock(role, link: token.hash))
        case .resume(let token):
            // The stored seats are the index: the call may have been taken
            // over from another instance, or from this server's last run.
            guard let id = try await store.consultation(resume: token.hash), let consultation = try await store.consultation(id: id) else {
                try await audit(.resume, .anonymous, nil, .denied, "unknown or used resume token", connection)
                throw SignalError(.invalidToken, "nothing to resume; join again")
            }
            try await requireActive(consultation, actor: .anonymous, connection: connection)
            return (consultation, .resume(token))
        }
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

    // MARK: From HTTP and the maintenance service

    /// A change made over HTTP or the CLI, here or on another instance.
    public func apply(_ event: ClusterEvent) async {
        switch event {
        case .consultationEnded(let consultation):
            // Everyone in its room is told.
            guard let session = sessions.removeValue(forKey: consultation) else { return }
            await session.closeAll()
        case .linkReplaced(let consultation, let role):
            // Whoever waits with the old link goes.
            await sessions[consultation]?.linkReplaced(role: role)
        case .accountDisabled(let account):
            // Its connections close; a disabled veileder's calls end for now.
            for (id, connection) in connections where connection.account?.id == account {
                fail(id, SignalError(.forbidden, "this account was disabled"), forceClose: true)
            }
        }
    }

    /// Events from other instances may have been missed (the channel to
    /// them was down): each call here is checked against the store.
    public func resynchronise() async {
        for (id, session) in sessions {
            do {
                guard let consultation = try await store.consultation(id: id), consultation.status(at: clock.now) == .active else {
                    await apply(.consultationEnded(id))
                    continue
                }
                await session.checkLinks(try await store.links(of: id))
            } catch {
                logger.error("checking a call against the store failed", metadata: ["error.type": "\(type(of: error))"])
            }
        }
    }

    /// Frees seats whose grace period passed; run periodically.
    public func sweep() async {
        dropSilentConnections()
        for session in sessions.values {
            await session.sweep()
            await forgetIfRetired(session)
        }
    }

    /// Renews the leases of the calls this instance is home to; a call whose
    /// home another instance has taken is closed here. Run every third of the lease.
    public func renewHomes() async {
        var held: [ConsultationID: Int64] = [:]
        for (id, session) in sessions {
            if let epoch = await session.heldEpoch { held[id] = epoch }
        }
        guard !held.isEmpty else { return }
        let startedAt = clock.now
        let lost: Set<ConsultationID>
        do {
            lost = try await store.renewHomes(held, holder: environment.instance.holder, lease: environment.homeLease, now: startedAt)
        } catch {
            logger.error("renewing the homes of calls failed", metadata: ["error.type": "\(type(of: error))"])
            return
        }
        for (id, _) in held {
            guard let session = sessions[id] else { continue }
            if lost.contains(id) {
                await session.homeLost()
                await forgetIfRetired(session)
            } else {
                await session.leaseRenewed(startedAt: startedAt)
            }
        }
    }

    /// Who is waiting or in each call, for the veileder's list: from the
    /// room here when this instance holds the call, else as the call's home
    /// (another instance) last stored it.
    public func presence(of consultations: [ConsultationID]) async throws -> [ConsultationID: CallPresence] {
        var found: [ConsultationID: CallPresence] = [:]
        var elsewhere: [ConsultationID] = []
        for id in consultations {
            if let session = sessions[id], await session.heldEpoch != nil {
                let (waiting, inCall) = await session.presence
                found[id] = CallPresence(waiting: waiting, inCall: inCall)
            } else {
                elsewhere.append(id)
            }
        }
        for (id, presence) in try await store.presence(of: elsewhere, now: clock.now) { found[id] = presence }
        return found
    }

    // MARK: Helpers

    private func forgetIfRetired(_ session: ConsultationSession) async {
        let id = session.consultation.id
        if await session.retireIfEmpty(), sessions[id] === session { sessions[id] = nil }
    }

    private func audit(
        _ action: AuditAction, _ actor: AuditActor, _ consultation: ConsultationID?, _ outcome: AuditOutcome,
        _ reason: String, _ connection: Connection
    ) async throws {
        if outcome == .denied, actor.kind == .anonymous {
            // Anyone can send these: summed per address and minute.
            try await auditor.refused(
                action, actor: actor, consultation: consultation, reason: reason, clientIP: connection.clientIP)
        } else {
            try await auditor.record(
                action, actor: actor, consultation: consultation, outcome: outcome, reason: reason, clientIP: connection.clientIP)
        }
    }

    /// Answers with an `error`; errors that end a session also close the
    /// connection unless `mayClose` is false.
    private func fail(_ id: ConnectionID, _ error: any Error, mayClose: Bool = true, forceClose: Bool = false) {
        guard let connection = connections[id], !connection.closing else { return }
        let signalError = SignalError(answering: error, logger: logger)
        if !connection.outbox.deliver(.error(signalError)) { logger.notice("closing a connection that does not keep up") }
        if forceClose || mayClose, let code = signalError.closeCode ?? (forceClose ? .policyViolation : nil) {
            close(id, code: code, reason: signalError.code.rawValue)
        }
    }
}
