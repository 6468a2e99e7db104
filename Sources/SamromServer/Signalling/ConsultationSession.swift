import Foundation
import Logging
import Metrics
import SamromCore
import Sodium

/// One consultation's live state: its `Room` (lobby, seats, keys), the
/// connections of the people in it, their addresses for the audit log, and
/// the owner's account. It carries out what the room decides (send, close,
/// audit, forget a resume token) and stores chat copies; it decides nothing
/// itself. Calls of different consultations run on different sessions, so
/// they never wait for each other. All of it goes away with the session when
/// the last person has left.
actor ConsultationSession {
    /// What every session needs from the server.
    struct Environment: Sendable {
        let store: any ConsultationStore & ChatStore & CallStore
        let auditor: Auditor
        let clock: WallClock
        let iceServers: IceServerProvider
        let roomConfiguration: Room.Configuration
        let metrics: ServerMetrics
        let logger: Logger
        /// This process among the instances on the store, and how long a
        /// call's home is leased (renewed every third of it).
        let instance: Instance
        let homeLease: TimeInterval
        let routeSecret: [UInt8]
        let chatLimits: ChatQuota.Limits
        /// The most one history page carries, whatever its count.
        let maxHistoryBytes: Int
    }

    /// A connection in this room.
    struct Link: Sendable {
        let outbox: Outbox
        /// The account from the session cookie sent with the upgrade, if any.
        let account: Account?
        let clientIP: String?
        /// An ID-porten verification sent with the upgrade (its cookie), if any.
        let identified: VerifiedIdentity?
        /// Set once a close was sent; later frames are ignored.
        var closing = false
        /// When this connection last got `admitted` (its TURN credentials), and as whom.
        var admitted: (participant: ParticipantID, at: Date)?
    }

    /// How someone arrives (authenticated by the hub).
    enum Arrival: Sendable {
        /// The owner, by session cookie.
        case veileder(Account)
        /// A deltaker or tolk, by the link of that role (its hash).
        case knock(ParticipantRole, link: TokenHash)
        case resume(ResumeToken)
    }

    enum Entered: Sendable {
        case entered
        /// This session was closed for good (emptied, or its consultation
        /// ended) before the arrival: the hub makes a new one.
        case retired
        /// The call lives on another instance: the arrival goes there.
        case moved(ServerMessage.Moved)
    }

    /// The home of this call as far as this instance knows it.
    private struct Home {
        /// The epoch this instance holds the home with.
        var epoch: Int64
        /// Until when this instance may act as the home without renewing:
        /// well inside the lease the store recorded.
        var validUntil: Date
    }

    /// A claim of the home as it came back from the store, with the stored
    /// seats when it was held (fetched in the same task, so that whoever
    /// awaits the claim applies it without another suspension).
    private struct Claim: Sendable {
        var answer: HomeClaim
        var seats: [StoredSeat]
        var startedAt: Date
    }

    private enum SeatSave { case saved, failed, homeLost }

    /// What the store keeps of the call: its seats, and who is at it.
    private struct Snapshot: Equatable {
        var seats: [StoredSeat]
        var presence: CallPresence
    }

    private var snapshot: Snapshot {
        Snapshot(seats: room.storedSeats, presence: CallPresence(waiting: room.presence.waiting, inCall: room.presence.inCall))
    }

    let consultation: Consultation
    private let environment: Environment
    private var room: Room
    private var links: [ConnectionID: Link] = [:]
    /// Each participant's latest client address, so the room's audit
    /// entries say from where (kept only while the session exists).
    private var addresses: [ParticipantID: String] = [:]
    /// The owner's account, once they came: the audit log names the veileder by account.
    private var owner: Account?
    private var retired = false
    /// The stored chat's totals, loaded with the first message.
    private var chatQuota: ChatQuota?
    /// The link each role last knocked with: if the store holds another
    /// one, it was replaced (`checkLinks`).
    private var knockedWith: [ParticipantRole: TokenHash] = [:]
    /// Held when this instance is the call's home.
    private var home: Home?
    /// A claim of the home in flight: concurrent arrivals await the same one.
    private var claiming: Task<Claim, any Error>?
    /// The seats and presence as last queued for the store (nil: write the
    /// next ones whatever they are), and the last write queued.
    private var queued: Snapshot? = Snapshot(seats: [], presence: .nobody)
    private var seatWrite: Task<SeatSave, Never>?

    init(consultation: Consultation, environment: Environment) {
        self.consultation = consultation
        self.environment = environment
        room = Room(consultation: consultation.id, configuration: environment.roomConfiguration)
    }

    // MARK: Entering

    /// Runs the room's entry for `connection`; sends `welcome` and what
    /// entering caused. Throws the refusal (already audited) for the hub to answer.
    func enter(_ arrival: Arrival, connection: ConnectionID, link: Link, askedFor: String?) async throws -> Entered {
        guard !retired else { return .retired }
        if let moved = try await takeHome(askedFor: askedFor) { return .moved(moved) }
        guard !retired else { return .retired }
        let now = environment.clock.now
        let resume = ResumeToken.random()
        var next = room
        let entry: Room.Entry
        switch arrival {
        case .veileder(let account):
            owner = account
            entry = next.veilederArrives(connection: connection, proposed: .random(), resume: resume.hash, now: now)
        case .knock(let role, let linkHash):
            knockedWith[role] = linkHash
            let proposed = ParticipantID.random()
            do {
                entry = try next.knocks(
                    role: role, connection: connection, proposed: proposed, resume: resume.hash, identified: link.identified, now: now)
            } catch {
                try await record(.knock, .participant(proposed, role: role), .denied, "\(role.rawValue) refused: \(SignalError.code(of: error))", link.clientIP)
                throw error
            }
        case .resume(let token):
            do {
                entry = try next.resume(token.hash, next: resume.hash, connection: connection, now: now)
            } catch {
                room = next  // an expired seat is freed by the attempt; keep that
                try await record(.resume, .anonymous, .denied, "resume refused: \(SignalError.code(of: error))", link.clientIP)
                throw error
            }
            if entry.you.role == .veileder, link.account?.id != consultation.owner {
                // A resume token alone does not make someone the veileder: the
                // session cookie of the owner's account must come with it.
                try await record(.resume, .anonymous, .denied, "veileder resume without the owner's session", link.clientIP)
                throw SignalError(.forbidden, "log in as the veileder of this consultation")
            }
            if entry.you.role == .veileder, let account = link.account { owner = account }
        }
        room = next
        links[connection] = link
        addresses[entry.you.participant] = link.clientIP
        // Audit first, and the seats stored: the welcome reports the entry
        // as done, and its resume token must work on whoever takes over.
        let audits = entry.actions.filter { if case .audit = $0 { true } else { false } }
        let rest = entry.actions.filter { if case .audit = $0 { false } else { true } }
        guard await perform(audits), await saveSeats() == .saved else {
            throw SignalError(.internalError, "something went wrong on the server")
        }
        let title = entry.you.role == .veileder ? consultation.title : nil
        send(
            .welcome(.init(
                you: entry.you,
                consultation: .init(id: consultation.id, expiresAt: consultation.expiresAt, title: title, booking: consultation.booking),
                resume: resume)),
            to: connection)
        await perform(rest)
        return .entered
    }

    // MARK: Messages

    /// A frame from a connection of this room (parsed and rate-limited by its socket).
    func receive(_ message: ClientMessage, from id: ConnectionID) async {
        guard let link = links[id], !link.closing else { return }
        environment.metrics.messages.increment()
        let now = environment.clock.now
        do {
            switch message {
            case .ping:
                send(.pong, to: id)
            case .hello:
                throw SignalError(.alreadyJoined, "this connection has already said hello")
            case .signal(let to, let signal):
                forward(signal, to: to, from: id)
            case .key(let publicKey):
                let key = Room.AnnouncedKey(publicKey: Base64URL.encode(publicKey.bytes), keyId: DeviceKey.keyID(publicKey))
                await perform(try room.announceKey(key, from: id))
            case .chat(let envelope):
                try await chat(envelope, from: id)
            case .history(let afterSeq, let limit):
                try await history(afterSeq: afterSeq, limit: limit, for: id)
            case .admit(let participant, let identification):
                await perform(try room.admit(participant, identification: identification, by: id, now: now))
            case .deny(let participant):
                await perform(try room.deny(participant, by: id, now: now))
            case .hold(let participant, let text):
                await perform(try room.hold(participant, text: text, by: id))
            case .callMedia(let video):
                await perform(try room.reportMedia(video: video, by: id))
            case .leave:
                await perform(room.disconnect(id, now: now, explicit: true) + [.close(id, .normal, reason: "left")])
            case .end:
                _ = try room.end(by: id)
                await end(by: link)
            }
        } catch {
            // Inside a room a refused request is answered and the session goes on.
            fail(id, error)
        }
    }

    /// A `signal` frame, relayed to its one recipient as it came: most of a
    /// call's frames. Synchronous (no store, no audit), so the socket's
    /// reader calls it directly and its task's stack stays shallow (not
    /// inlined there: its temporaries would join the reader's async frame).
    @inline(never)
    func relay(_ signal: SealedSignal, to: ParticipantID, from id: ConnectionID) {
        guard let link = links[id], !link.closing else { return }
        environment.metrics.messages.increment()
        forward(signal, to: to, from: id)
    }

    /// The room decides whether the box may go to `to`; it goes as it came.
    private func forward(_ signal: SealedSignal, to: ParticipantID, from id: ConnectionID) {
        do {
            guard case .send(let target, let relayed) = try room.relay(signal, to: to, from: id) else { return }
            send(relayed, to: target)
            environment.metrics.relayed.increment()
        } catch {
            fail(id, error)
        }
    }

    /// Stores every copy (acknowledged only once all are durable), then gives
    /// each connected recipient its own copy. A resend is acknowledged again
    /// and never stored or relayed twice.
    private func chat(_ envelope: ChatEnvelope, from id: ConnectionID) async throws {
        let sender = try room.chatSender(envelope, from: id)
        if chatQuota == nil {
            let stored = try await environment.store.chatTotals(consultation: consultation.id)
            chatQuota = chatQuota ?? ChatQuota(limits: environment.chatLimits, messages: stored.messages, bytes: stored.bytes)
        }
        // Counted before it is stored, so messages sent at once cannot pass
        // the limit together; taken back if nothing new was stored.
        try chatQuota?.add(envelope)
        let copies: [StoredChat]
        let duplicate: Bool
        do {
            (copies, duplicate) = try await environment.store.appendChat(
                envelope, consultation: consultation.id, sender: sender, at: environment.clock.now)
        } catch {
            chatQuota?.takeBack(envelope)
            throw error
        }
        if duplicate { chatQuota?.takeBack(envelope) }
        environment.metrics.chatMessages.increment()
        guard let seq = copies.first?.seq else { return }
        send(.chatAck(clientMsgId: envelope.clientMsgId, seq: seq), to: id)
        if !duplicate { await perform(room.deliver(copies)) }
    }

    private func history(afterSeq: UInt64?, limit: Int, for id: ConnectionID) async throws {
        let (member, keyId) = try room.historyKey(of: id)
        try await record(.chatHistory, actor(member), .allowed, "read the chat history (its own sealed copies)", addresses[member.participant])
        let page = try await environment.store.chatHistory(
            consultation: consultation.id, recipientKeyId: keyId, afterSeq: afterSeq, limit: limit + 1)
        // At most `limit` messages and `maxHistoryBytes` (always at least one).
        var taken = 0
        var bytes = 0
        for stored in page.prefix(limit) {
            bytes += ServerMessage.chat(stored).estimatedBytes
            if taken > 0, bytes > environment.maxHistoryBytes { break }
            taken += 1
        }
        send(.history(messages: Array(page.prefix(taken)), more: page.count > taken), to: id)
    }

    private func end(by link: Link) async {
        let actor = link.account.map(AuditActor.user) ?? .anonymous
        do {
            _ = try await environment.store.endConsultation(consultation.id, at: environment.clock.now)
            try await record(.consultationEnd, actor, .allowed, "veileder ended the consultation in the call", link.clientIP)
        } catch {
            environment.logger.error("ending a consultation failed", metadata: ["error.type": "\(type(of: error))"])
        }
        await closeAll()
    }

    // MARK: From the hub

    /// The socket is gone (closed, dropped, or timed out).
    func disconnected(_ id: ConnectionID) async {
        guard links.removeValue(forKey: id) != nil else { return }
        await perform(room.disconnect(id, now: environment.clock.now, explicit: false))
    }

    /// The consultation ended (here or over HTTP): everyone is told and
    /// disconnected, and this session takes no one in again.
    func closeAll() async {
        await perform(room.closeAll())
        room = Room(consultation: consultation.id, configuration: environment.roomConfiguration)
        retired = true
        await releaseHome()
    }

    /// A new link for `role` was made: whoever waits with the old one goes.
    func linkReplaced(role: ParticipantRole) async {
        knockedWith[role] = nil
        await perform(room.linkReplaced(role: role))
    }

    /// After missed events: a role whose link in the store is not the one
    /// its waiting people knocked with was replaced meanwhile.
    func checkLinks(_ current: [JoinLink]) async {
        for (role, hash) in knockedWith where !(current.contains { $0.role == role && $0.hash.matches(hash) }) {
            await linkReplaced(role: role)
        }
    }

    /// Frees seats whose grace period passed, and gives everyone in a long
    /// call fresh TURN credentials before theirs expire.
    func sweep() async {
        let now = environment.clock.now
        room.sweep(now: now)
        await saveSeats()
        guard let renewal = environment.iceServers.renewal else { return }
        let due = links.compactMap { id, link -> Room.Action? in
            guard !link.closing, let admitted = link.admitted, now.timeIntervalSince(admitted.at) >= renewal else { return nil }
            return .admitted(id, admitted.participant)
        }
        await perform(due)
    }

    /// True once nobody is connected, waiting or within a grace period: the
    /// session then retires for good, so the hub can forget it.
    func retireIfEmpty() async -> Bool {
        if room.isEmpty, !retired, claiming == nil {
            retired = true
            await releaseHome()
        }
        return retired
    }

    // MARK: The call's home

    /// Makes sure this instance is the call's home before anyone enters:
    /// nil when it is (claimed now, or held and still valid), or where the
    /// arrival must go instead. A call taken over gets its stored seats back.
    private func takeHome(askedFor: String?) async throws -> ServerMessage.Moved? {
        if let home, environment.clock.now < home.validUntil { return nil }
        let task: Task<Claim, any Error>
        if let claiming {
            task = claiming
        } else {
            let environment = environment, id = consultation.id
            task = Task {
                let startedAt = environment.clock.now
                let answer = try await environment.store.claimHome(
                    id, instance: environment.instance.name, holder: environment.instance.holder, lease: environment.homeLease,
                    now: startedAt)
                guard case .held = answer else { return Claim(answer: answer, seats: [], startedAt: startedAt) }
                return Claim(answer: answer, seats: try await environment.store.seats(of: id), startedAt: startedAt)
            }
            claiming = task
        }
        let claim: Claim
        do {
            claim = try await task.value
        } catch {
            if claiming == task { claiming = nil }
            throw error
        }
        if claiming == task { claiming = nil }
        switch claim.answer {
        case .held(let epoch, _):
            if home?.epoch != epoch, room.isEmpty {
                // New here (or back here): the call as the store left it.
                room.restore(claim.seats, now: environment.clock.now)
                queued = nil  // the presence changed: nobody is connected here yet
            }
            home = Home(epoch: epoch, validUntil: claim.startedAt.addingTimeInterval(environment.homeLease * 2 / 3))
            return nil
        case .elsewhere(let instance, let leaseUntil):
            home = nil
            // Asked for that instance already and came here: the load
            // balancer finds it down, so its lease must run out first.
            let wait = askedFor == instance ? max(0, leaseUntil.timeIntervalSince(environment.clock.now)) + 0.25 : 0
            return ServerMessage.Moved(
                instance: instance, route: RouteKey.of(consultation.id, secret: environment.routeSecret),
                retryAfterMs: Int((wait * 1000).rounded()))  // the 0.25 s covers rounding
        }
    }

    /// The epoch this instance holds the home with, for renewing its lease.
    var heldEpoch: Int64? { retired ? nil : home?.epoch }

    /// The store renewed the lease, as asked at `startedAt`.
    func leaseRenewed(startedAt: Date) {
        home?.validUntil = startedAt.addingTimeInterval(environment.homeLease * 2 / 3)
    }

    /// Another instance holds the call now (this one lost its lease, cut off
    /// from the store): everyone here is disconnected, to come back there
    /// with their resume tokens; this session takes no one in again.
    func homeLost() async {
        environment.logger.notice("lost the home of a call to another instance")
        home = nil
        retired = true
        await perform(room.connections.map { .close($0, .goingAway, reason: "moved") })
        room = Room(consultation: consultation.id, configuration: environment.roomConfiguration)
    }

    /// Writes the room's seats and presence to the store if they changed
    /// since the last write queued, fenced by the home's epoch. Writes run one after the
    /// other in the order their snapshots were taken, so the store ends with
    /// the latest; returns once this snapshot (or an equal one) is written.
    @discardableResult
    private func saveSeats() async -> SeatSave {
        guard let epoch = home?.epoch else { return .saved }
        let snapshot = self.snapshot
        if snapshot == queued { return await seatWrite?.value ?? .saved }
        queued = snapshot
        let environment = environment, id = consultation.id, previous = seatWrite
        let task = Task<SeatSave, Never> {
            _ = await previous?.value
            do {
                let written = try await environment.store.saveSeats(
                    snapshot.seats, presence: snapshot.presence, of: id, holder: environment.instance.holder, epoch: epoch)
                return written ? .saved : .homeLost
            } catch {
                environment.logger.error("storing a call's seats failed", metadata: ["error.type": "\(type(of: error))"])
                return .failed
            }
        }
        seatWrite = task
        let result = await task.value
        switch result {
        case .saved: break
        case .failed: if queued == snapshot { queued = nil }  // the next change writes again
        case .homeLost: if home?.epoch == epoch { await homeLost() }
        }
        return result
    }

    /// Gives the home up: the call emptied or ended.
    private func releaseHome() async {
        guard let epoch = home?.epoch else { return }
        home = nil
        do {
            try await environment.store.releaseHome(consultation.id, holder: environment.instance.holder, epoch: epoch)
        } catch {
            // The lease runs out by itself.
            environment.logger.notice("releasing a call's home failed", metadata: ["error.type": "\(type(of: error))"])
        }
    }

    var presence: (waiting: Int, inCall: Int) { room.presence }

    // MARK: Performing actions

    /// Performs room actions in order. Returns false if an audit entry could
    /// not be written, in which case nothing after it is done.
    @discardableResult
    private func perform(_ actions: [Room.Action]) async -> Bool {
        await saveSeats()
        for action in actions {
            switch action {
            case .send(let id, let message):
                send(message, to: id)
            case .admitted(let id, let participant):
                let now = environment.clock.now
                links[id]?.admitted = (participant, now)
                send(
                    .admitted(.init(
                        iceServers: environment.iceServers.servers(for: participant, now: now),
                        iceTransportPolicy: environment.iceServers.transportPolicy)),
                    to: id)
            case .close(let id, let code, let reason):
                close(id, code: code, reason: reason)
            case .audit(let auditAction, let member, let outcome, let reason):
                do {
                    try await record(auditAction, actor(member), outcome, reason, addresses[member.participant])
                } catch {
                    environment.logger.error("audit write failed; action not performed", metadata: ["action": "\(auditAction)"])
                    return false
                }
            }
        }
        return true
    }

    private func record(_ action: AuditAction, _ actor: AuditActor, _ outcome: AuditOutcome, _ reason: String, _ clientIP: String?) async throws {
        try await environment.auditor.record(
            action, actor: actor, consultation: consultation.id, outcome: outcome, reason: reason, clientIP: clientIP)
    }

    /// The veileder is named by account; everyone else by pseudonym and role.
    private func actor(_ member: Member) -> AuditActor {
        if member.role == .veileder, let owner { return .user(owner) }
        return .participant(member.participant, role: member.role)
    }

    private func send(_ message: ServerMessage, to id: ConnectionID) {
        guard let link = links[id], !link.closing else { return }
        if !link.outbox.deliver(message) {
            environment.logger.notice("closing a connection that does not keep up")
            links[id]?.closing = true
        }
    }

    private func close(_ id: ConnectionID, code: WebSocketCloseCode, reason: String) {
        guard let link = links[id], !link.closing else { return }
        links[id]?.closing = true
        link.outbox.close(code, reason: reason)
    }

    /// Answers a refused request with an `error`; the connection stays.
    private func fail(_ id: ConnectionID, _ error: any Error) {
        environment.metrics.rejectedMessages.increment()
        send(.error(SignalError(answering: error, logger: environment.logger)), to: id)
    }
}
