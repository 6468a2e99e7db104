import Foundation

/// Accounts (username, role, Argon2id hash).
public protocol AccountStore: Sendable {
    /// Throws `StorageError(.conflict)` if the username is taken.
    func createAccount(username: String, role: AccountRole, passwordHash: String, at: Date) async throws -> Account
    func account(username: String) async throws -> Account?
    func account(id: AccountID) async throws -> Account?
    func accounts() async throws -> [Account]
    func accountCount() async throws -> Int
    /// Disables the account and deletes its sessions; false if no such account.
    func disableAccount(username: String, at: Date) async throws -> Bool
    func updatePasswordHash(_ hash: String, for account: AccountID) async throws

    /// Links the account to a value of the identity provider's configured
    /// claim (OpenID Connect login, issue 15), replacing its previous value,
    /// or with nil removes its link; false if no such account. One value per
    /// account and one account per value: throws `StorageError(.conflict)`,
    /// and changes nothing, if another account has the value. A link grants
    /// no role, and disabling the account keeps it.
    func linkIdentity(_ value: String?, to account: AccountID) async throws -> Bool
    /// The account linked to exactly this value (byte for byte: the caller
    /// normalises), disabled or not.
    func account(identity: String) async throws -> Account?
    func identity(of account: AccountID) async throws -> String?
}

/// Login sessions, keyed by the hash of their cookie token.
public protocol SessionStore: Sendable {
    func insertSession(_ session: LoginSession) async throws
    func session(tokenHash: TokenHash) async throws -> LoginSession?
    func touchSession(tokenHash: TokenHash, at: Date) async throws
    func deleteSession(tokenHash: TokenHash) async throws
    /// Removes sessions past absolute or idle expiry; returns how many.
    func deleteExpiredSessions(now: Date, idleTimeout: TimeInterval) async throws -> Int
}

/// Consultations and their join links (one per invited role, hashes only).
public protocol ConsultationStore: Sendable {
    /// Stores a new consultation with its first link (the deltaker's).
    func insertConsultation(_ consultation: Consultation, link: JoinLink) async throws
    func consultation(id: ConsultationID) async throws -> Consultation?
    /// The consultation one of whose *current* links has this hash, and that link's role.
    func consultation(linkHash: TokenHash) async throws -> (consultation: Consultation, role: ParticipantRole)?
    func consultations(owner: AccountID) async throws -> [Consultation]
    /// The current links of a consultation, by role.
    func links(of id: ConsultationID) async throws -> [JoinLink]
    /// Sets the link of `link.role` (the old one of that role stops working at once).
    func replaceLink(of id: ConsultationID, with link: JoinLink) async throws
    /// Marks it ended; false if it already was.
    func endConsultation(_ id: ConsultationID, at: Date) async throws -> Bool
    /// Sets (or with nil clears) the booked time, with the expiry that covers
    /// it; false when there is no such consultation.
    func setBooking(_ booking: Booking?, expiresAt: Date, of id: ConsultationID) async throws -> Bool
    /// Consultations whose booked time starts in `from..<to`, by start.
    func consultations(bookedFrom from: Date, to: Date) async throws -> [Consultation]
}

/// The append-only audit trail: the leaves of the transparency log and its
/// signed checkpoints.
public protocol AuditStore: Sendable {
    /// Appends durably (committed and synced before it returns) and returns
    /// the stored leaf: sequence number (0-based), leaf hash and bytes.
    func appendAudit(_ event: AuditEvent) async throws -> AuditRecord
    /// Decoded entries in order from `seq` (at most `limit`); erased ones are skipped.
    func auditEntries(from seq: UInt64, limit: Int) async throws -> [AuditEntry]
    /// Stored leaves in order from `seq` (at most `limit`), erased ones included.
    func auditRecords(from seq: UInt64, limit: Int) async throws -> [AuditRecord]
    /// Stored leaves in order from `seq` (at most `limit`) in flat buffers: for verifying fast.
    func auditBatch(from seq: UInt64, limit: Int) async throws -> AuditBatch
    /// Leaves matching `filter`, in order (at most `limit`); erased ones never match.
    func auditRecords(matching filter: AuditFilter, limit: Int) async throws -> [AuditRecord]
    /// Leaf hashes in order from `seq` (at most `limit`), concatenated (32 bytes each): for rebuilding the tree.
    func auditLeafHashes(from seq: UInt64, limit: Int) async throws -> [UInt8]
    func auditCount() async throws -> UInt64
    /// Erases the content of the oldest entries, up to the first one at or
    /// after `date`, keeping their leaf hashes, and appends the `declaration`
    /// of it in the same transaction (AuditErasure). The audit sink learns of
    /// that entry by catching up from the store.
    func eraseAuditContent(
        before date: Date, declaring declaration: @escaping @Sendable (AuditErasureResult) -> AuditEvent
    ) async throws -> AuditErasureResult

    /// Stores a signed checkpoint note for a tree size (idempotent per size).
    func insertAuditCheckpoint(size: UInt64, note: String, at: Date) async throws
    func latestAuditCheckpoint() async throws -> String?
    /// Every stored checkpoint note, oldest first.
    func auditCheckpoints() async throws -> [String]
    /// The verifier key (Go note format) the log is signed with. With no
    /// key recorded yet, records `candidate` if given. The first recorded
    /// stays: instances sharing a store must sign with that key.
    func auditVerifierKey(recording candidate: String?) async throws -> String?
}

/// The end-to-end chat: opaque copies, one per recipient key, never plaintext
/// and never a key. Everything the server persists is these protocols; SQLite
/// (GRDB) implements them today, a PostgreSQL backend can later.
public protocol ChatStore: Sendable {
    /// Appends every copy of a message durably (synced before it returns),
    /// all under one new `seq`. The same sender key's same clientMsgId
    /// returns the message stored first, with `duplicate` set.
    func appendChat(
        _ envelope: ChatEnvelope, consultation: ConsultationID, sender: Member, at: Date
    ) async throws -> (copies: [StoredChat], duplicate: Bool)
    /// The copies addressed to `recipientKeyId` after `afterSeq` (from the
    /// start when nil), oldest first, at most `limit`.
    func chatHistory(consultation: ConsultationID, recipientKeyId: String, afterSeq: UInt64?, limit: Int) async throws -> [StoredChat]
    /// Messages stored for a consultation, and the bytes of their copies (`ChatQuota`).
    func chatTotals(consultation: ConsultationID) async throws -> (messages: Int, bytes: Int)
    /// Deletes the copies of consultations that ended or expired before `date`; returns how many.
    func purgeChat(closedBefore date: Date) async throws -> Int
}

/// Where each consultation's call lives and who holds its seats, shared by
/// every instance on one store (issue 14). On SQLite there is one instance,
/// and this is what lets a restarted server take its calls back.
///
/// Leases are in the callers' wall-clock time (`now`): instances sharing a
/// store keep their clocks in sync (NTP), as `samrom doctor` checks.
public protocol CallStore: Sendable {
    /// The cluster's secret for `RouteKey`s: made once (32 random bytes),
    /// the same for every instance and every later call.
    /// The database server's own clock where it runs apart from this process
    /// (PostgreSQL); nil for an embedded store. Call homes' leases compare
    /// the instances' clocks, so `samrom doctor` checks that they agree.
    func databaseTime() async throws -> Date?
    func routeSecret() async throws -> [UInt8]
    /// Takes the home of a consultation's call for `holder` (of instance
    /// `instance`) until `now + lease`, or renews it if `holder` has it. A
    /// home whose lease has run out, or held by an earlier run of the same
    /// instance name, is taken over with a new epoch. Atomic: of two holders
    /// claiming at once, one gets it and the other is told where it is.
    func claimHome(_ consultation: ConsultationID, instance: String, holder: String, lease: TimeInterval, now: Date) async throws -> HomeClaim
    /// Extends the leases that `holder` still has with these epochs; returns
    /// the consultations among them whose home it has lost.
    func renewHomes(_ homes: [ConsultationID: Int64], holder: String, lease: TimeInterval, now: Date) async throws -> Set<ConsultationID>
    /// Gives a home up (the call emptied or ended) and forgets its seats, if
    /// `holder` still has it with `epoch`.
    func releaseHome(_ consultation: ConsultationID, holder: String, epoch: Int64) async throws
    /// Replaces the stored seats of a call and who is at it, if `holder`
    /// still has its home with `epoch`; false (nothing written) if it has lost it.
    func saveSeats(
        _ seats: [StoredSeat], presence: CallPresence, of consultation: ConsultationID, holder: String, epoch: Int64
    ) async throws -> Bool
    /// Who is at each of these calls, as their homes stored it; calls with no
    /// home whose lease runs past `now` are left out (nobody is there).
    func presence(of consultations: [ConsultationID], now: Date) async throws -> [ConsultationID: CallPresence]
    /// The stored seats of a call, in the order saved.
    func seats(of consultation: ConsultationID) async throws -> [StoredSeat]
    /// The consultation whose stored seat this resume token (hash) is for.
    func consultation(resume: TokenHash) async throws -> ConsultationID?
}

/// Second factors of local accounts (issue 15): TOTP enrolments with their
/// secrets sealed, hashes of recovery codes, and logins waiting for their
/// second step. Every "only once" is decided here, atomically, so that
/// instances sharing a store cannot both accept one code.
public protocol SecondFactorStore: Sendable {
    /// The id (a hash, never the key) of the key secrets are sealed with.
    /// With none recorded, records `candidate` if given; the first stays.
    func secondFactorKeyID(recording candidate: String?) async throws -> String?
    func totpEnrolment(of account: AccountID) async throws -> TOTPEnrolment?
    /// Starts an enrolment, or restarts an unconfirmed one with a new
    /// secret; false, and nothing changed, if the account's is confirmed.
    func beginTOTPEnrolment(_ account: AccountID, sealedSecret: SealedSecret, at: Date) async throws -> Bool
    /// Confirms the unconfirmed enrolment sealed as `sealedSecret`, with
    /// `step` as its last accepted step, and stores its recovery codes'
    /// hashes, in one transaction; false if it was confirmed, restarted or
    /// removed meanwhile.
    func confirmTOTPEnrolment(
        _ account: AccountID, sealedSecret: SealedSecret, step: Int64, recoveryCodes: [TokenHash], at: Date
    ) async throws -> Bool
    /// Records `step` as the last accepted of a confirmed enrolment if it is
    /// later than the last one: true for exactly one of any callers.
    func acceptTOTPStep(_ step: Int64, for account: AccountID) async throws -> Bool
    /// Marks an unused recovery code used: `.used` for exactly one caller.
    func useRecoveryCode(_ hash: TokenHash, for account: AccountID, at: Date) async throws -> RecoveryCodeUse
    /// Removes the enrolment and recovery codes and ends the account's
    /// sessions and pending logins; false if it had no enrolment.
    func removeSecondFactor(of account: AccountID) async throws -> Bool

    func insertPendingLogin(_ login: PendingLogin) async throws
    func pendingLogin(tokenHash: TokenHash) async throws -> PendingLogin?
    /// Takes one try of the pending login if it is live at `now`.
    func takePendingLoginAttempt(tokenHash: TokenHash, now: Date) async throws -> PendingLoginAttempt
    /// True for exactly one of any callers.
    func deletePendingLogin(tokenHash: TokenHash) async throws -> Bool
    /// Removes those expired at `now`; returns how many.
    func deleteExpiredPendingLogins(now: Date) async throws -> Int
}

public typealias SamromStorage = AccountStore & SessionStore & ConsultationStore & AuditStore & ChatStore & CallStore
    & SecondFactorStore
