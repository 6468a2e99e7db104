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
        let store: any ConsultationStore & ChatStore
        let auditor: Auditor
        let clock: WallClock
        let iceServers: IceServerProvider
        let roomConfiguration: Room.Configuration
        let metrics: ServerMetrics
        let logger: Logger
        let resumeIndex: ResumeIndex
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
        /// Set once a close was sent; later frames are ignored.
        var closing = false
        /// When this connection last got `admitted` (its TURN credentials), and as whom.
        var admitted: (participant: ParticipantID, at: Date)?
    }

    /// How someone arrives (authenticated by the hub).
    enum Arrival: Sendable {
        /// The owner, by session cookie.
        case veileder(Account)
        /// A deltaker or tolk, by the link of that role.
        case knock(ParticipantRole)
        case resume(ResumeToken)
    }

    enum Entered: Sendable {
        case entered
        /// This session was closed for good (emptied, or its consultation
        /// ended) before the arrival: the hub makes a new one.
        case retired
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

    init(consultation: Consultation, environment: Environment) {
        self.consultation = consultation
        self.environment = environment
        room = Room(consultation: consultation.id, configuration: environment.roomConfiguration)
    }

    // MARK: Entering

    /// Runs the room's entry for `connection`; sends `welcome` and what
    /// entering caused. Throws the refusal (already audited) for the hub to answer.
    func enter(_ arrival: Arrival, connection: ConnectionID, link: Link) async throws -> Entered {
        guard !retired else { return .retired }
        let now = environment.clock.now
        let resume = ResumeToken.random()
        var next = room
        let entry: Room.Entry
        switch arrival {
        case .veileder(let account):
            owner = account
            entry = next.veilederArrives(connection: connection, proposed: .random(), resume: resume.hash, now: now)
        case .knock(let role):
            let proposed = ParticipantID.random()
            do {
                entry = try next.knocks(role: role, connection: connection, proposed: proposed, resume: resume.hash, now: now)
            } catch {
                try await record(.knock, .participant(proposed, role: role), .denied, "\(role.rawValue) refused: \(SignalError.code(of: error))", link.clientIP)
                throw error
            }
        case .resume(let token):
            environment.resumeIndex.forget(token.hash)
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
        environment.resumeIndex.add(resume.hash, for: consultation.id)
        // Audit first: the welcome reports the entry as done.
        let audits = entry.actions.filter { if case .audit = $0 { true } else { false } }
        let rest = entry.actions.filter { if case .audit = $0 { false } else { true } }
        guard await perform(audits) else { throw SignalError(.internalError, "something went wrong on the server") }
        let title = entry.you.role == .veileder ? consultation.title : nil
        send(
            .welcome(.init(
                you: entry.you, consultation: .init(id: consultation.id, expiresAt: consultation.expiresAt, title: title),
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
                guard case .send(let target, let relayed) = try room.relay(signal, to: to, from: id) else { return }
                send(relayed, to: target)
                environment.metrics.relayed.increment()
            case .key(let publicKey):
                let key = Room.AnnouncedKey(publicKey: Base64URL.encode(publicKey.bytes), keyId: DeviceKey.keyID(publicKey))
                await perform(try room.announceKey(key, from: id))
            case .chat(let envelope):
                try await chat(envelope, from: id)
            case .history(let afterSeq, let limit):
                try await history(afterSeq: afterSeq, limit: limit, for: id)
            case .admit(let participant):
                await perform(try room.admit(participant, by: id, now: now))
            case .deny(let participant):
                await perform(try room.deny(participant, by: id, now: now))
            case .hold(let participant, let text):
                await perform(try room.hold(participant, text: text, by: id))
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
    }

    /// A new link for `role` was made: whoever waits with the old one goes.
    func linkReplaced(role: ParticipantRole) async {
        await perform(room.linkReplaced(role: role))
    }

    /// Frees seats whose grace period passed, and gives everyone in a long
    /// call fresh TURN credentials before theirs expire.
    func sweep() async {
        let now = environment.clock.now
        await perform(room.sweep(now: now))
        guard let renewal = environment.iceServers.renewal else { return }
        let due = links.compactMap { id, link -> Room.Action? in
            guard !link.closing, let admitted = link.admitted, now.timeIntervalSince(admitted.at) >= renewal else { return nil }
            return .admitted(id, admitted.participant)
        }
        await perform(due)
    }

    /// True once nobody is connected, waiting or within a grace period: the
    /// session then retires for good, so the hub can forget it.
    func retireIfEmpty() -> Bool {
        if room.isEmpty { retired = true }
        return retired
    }

    var presence: (waiting: Int, inCall: Int) { room.presence }

    // MARK: Performing actions

    /// Performs room actions in order. Returns false if an audit entry could
    /// not be written, in which case nothing after it is done.
    @discardableResult
    private func perform(_ actions: [Room.Action]) async -> Bool {
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
            case .forgetResume(let hash):
                environment.resumeIndex.forget(hash)
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
