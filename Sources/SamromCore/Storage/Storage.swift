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

/// Consultations and their join-link hashes.
public protocol ConsultationStore: Sendable {
    func insertConsultation(_ consultation: Consultation) async throws
    func consultation(id: ConsultationID) async throws -> Consultation?
    /// The consultation whose *current* link has this hash.
    func consultation(linkHash: TokenHash) async throws -> Consultation?
    func consultations(owner: AccountID) async throws -> [Consultation]
    /// Replaces the link hash (the old link stops working at once).
    func replaceLink(of id: ConsultationID, with hash: TokenHash, at: Date) async throws
    /// Marks it ended; false if it already was.
    func endConsultation(_ id: ConsultationID, at: Date) async throws -> Bool
}

/// The append-only audit trail.
public protocol AuditStore: Sendable {
    /// Appends durably and returns the entry's sequence number (0-based).
    func appendAudit(_ event: AuditEvent) async throws -> UInt64
    /// Entries in order, from `seq` onwards (at most `limit`).
    func auditEntries(from seq: UInt64, limit: Int) async throws -> [AuditEntry]
}

/// Everything the server persists. SQLite (GRDB) implements it today; a
/// PostgreSQL backend can implement the same protocol later.
public typealias SamromStorage = AccountStore & SessionStore & ConsultationStore & AuditStore
