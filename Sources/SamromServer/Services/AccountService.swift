import Foundation
import SamromCore
import Sodium

/// Accounts, passwords and login sessions.
public final class AccountService: Sendable {
    let store: any AccountStore & SessionStore
    let auditor: Auditor
    let clock: WallClock
    let configuration: ServerConfiguration
    let throttle: ThrottleBox
    let passwords: PasswordWorkers
    /// A hash of a random password with the same limits, verified against when
    /// the username is unknown so the reply takes as long as for a real account.
    let decoyHash: String

    public init(store: any AccountStore & SessionStore, auditor: Auditor, clock: WallClock, configuration: ServerConfiguration) throws {
        self.store = store
        self.auditor = auditor
        self.clock = clock
        self.configuration = configuration
        self.throttle = ThrottleBox(LoginThrottle(policy: configuration.loginThrottle))
        self.passwords = PasswordWorkers(workers: configuration.passwordWorkers, queueLimit: configuration.passwordQueueLimit)
        self.decoyHash = try PasswordHash.hash(password: .random(count: 24), limits: configuration.passwordLimits)
    }

    public struct Failure: Error, Equatable, CustomStringConvertible {
        public enum Code: String, Sendable { case invalidUsername = "invalid-username", weakPassword = "weak-password", taken }
        public let code: Code
        public let message: String
        public var description: String { message }
    }

    // MARK: Administration (CLI)

    /// Creates an account. The password is checked for length only (NIST 800-63B).
    public func create(username raw: String, role: AccountRole, password: SecureBytes, actor: AuditActor = .system) async throws -> Account {
        guard let username = Account.normalisedUsername(raw) else {
            throw Failure(code: .invalidUsername, message: "A username is 1–64 of a–z, 0–9, '.', '_' and '-'.")
        }
        guard Account.passwordLengthRange.contains(password.count) else {
            throw Failure(
                code: .weakPassword,
                message: "A password must be \(Account.passwordLengthRange.lowerBound) to \(Account.passwordLengthRange.upperBound) bytes long.")
        }
        let limits = configuration.passwordLimits
        let hash = try await passwords.run { try PasswordHash.hash(password: password, limits: limits) }
        do {
            let account = try await store.createAccount(username: username, role: role, passwordHash: hash, at: clock.now)
            try await auditor.record(
                .accountCreate, actor: actor, outcome: .allowed,
                reason: "created account \(account.id) with role \(role.rawValue)", clientIP: nil)
            return account
        } catch let error as StorageError where error.code == .conflict {
            throw Failure(code: .taken, message: "That username is taken.")
        }
    }

    public func disable(username raw: String, actor: AuditActor = .system) async throws -> Bool {
        guard let username = Account.normalisedUsername(raw) else { return false }
        let done = try await store.disableAccount(username: username, at: clock.now)
        if done {
            try await auditor.record(.accountDisable, actor: actor, outcome: .allowed, reason: "disabled an account", clientIP: nil)
        }
        return done
    }

    public func list() async throws -> [Account] { try await store.accounts() }

    // MARK: Logging in

    public enum LoginResult: Sendable {
        case success(Account, SessionToken)
        case invalid
        case throttled(retryAfter: TimeInterval)
        /// Too many password checks waiting: try again in a moment.
        case busy
    }

    /// Checks a password. Unknown, disabled and wrong all answer `.invalid`
    /// after the same Argon2id work; repeated failures are slowed per
    /// username and per address, counting each attempt before its check.
    public func login(username raw: String, password: SecureBytes, clientIP: String?) async throws -> LoginResult {
        let now = clock.now
        let name = Account.normalisedUsername(raw) ?? raw.lowercased()
        var keys: [LoginThrottle.Key] = [.account(String(name.prefix(64)))]
        if let clientIP { keys.append(.address(clientIP)) }
        if let wait = await throttle.admit(keys, now: now) {
            try await auditor.refused(.login, reason: "throttled after repeated failures", clientIP: clientIP)
            return .throttled(retryAfter: wait)
        }
        let found = try await Account.normalisedUsername(raw).asyncFlatMap { try await store.account(username: $0) }
        let stored = found?.passwordHash ?? decoyHash
        let matches: Bool
        do {
            matches = try await passwords.run { PasswordHash.verify(password: password, hash: stored) }
        } catch is PasswordWorkers.Busy {
            await throttle.withdraw(keys)
            try await auditor.refused(.login, reason: "too many password checks waiting", clientIP: clientIP)
            return .busy
        }
        guard let account = found, matches, !account.isDisabled else {
            let actor = found.map(AuditActor.user) ?? .anonymous
            let why = found == nil ? "unknown username" : (found!.isDisabled ? "account disabled" : "wrong password")
            try await auditor.record(.login, actor: actor, outcome: .denied, reason: why, clientIP: clientIP)
            return .invalid
        }
        await throttle.succeeded(keys)
        let limits = configuration.passwordLimits
        if PasswordHash.needsRehash(account.passwordHash, limits: limits),
            let upgraded = try? await passwords.run({ try PasswordHash.hash(password: password, limits: limits) })
        {
            try await store.updatePasswordHash(upgraded, for: account.id)
        }
        let token = SessionToken.random()
        try await store.insertSession(
            LoginSession(
                tokenHash: token.hash, account: account.id, createdAt: now, lastSeenAt: now,
                expiresAt: now.addingTimeInterval(configuration.sessionLifetime)))
        try await auditor.record(.login, actor: .user(account), outcome: .allowed, reason: "password login", clientIP: clientIP)
        return .success(account, token)
    }

    public func logout(sessionHash: TokenHash, account: Account, clientIP: String?) async throws {
        try await store.deleteSession(tokenHash: sessionHash)
        try await auditor.record(.logout, actor: .user(account), outcome: .allowed, reason: "logged out", clientIP: clientIP)
    }

    /// The account behind a session cookie, if the session is live and the
    /// account enabled. A request that is the user's `activity` refreshes
    /// the idle timer (at most once a minute); a page's own polling does not.
    public func authenticate(_ token: SessionToken, activity: Bool = true) async throws -> Account? {
        let now = clock.now
        let hash = token.hash
        guard let session = try await store.session(tokenHash: hash) else { return nil }
        guard session.isValid(at: now, idleTimeout: configuration.sessionIdleTimeout) else {
            try await store.deleteSession(tokenHash: hash)
            return nil
        }
        guard let account = try await store.account(id: session.account), !account.isDisabled else { return nil }
        if activity, now.timeIntervalSince(session.lastSeenAt) > 60 {
            try await store.touchSession(tokenHash: hash, at: now)
        }
        return account
    }
}

/// The login throttle's state, shared by all requests.
actor ThrottleBox {
    private var throttle: LoginThrottle
    init(_ throttle: LoginThrottle) { self.throttle = throttle }
    func admit(_ keys: [LoginThrottle.Key], now: Date) -> TimeInterval? { throttle.admit(keys, now: now) }
    func succeeded(_ keys: [LoginThrottle.Key]) { throttle.succeeded(keys) }
    func withdraw(_ keys: [LoginThrottle.Key]) { throttle.withdraw(keys) }
}

extension Optional {
    func asyncFlatMap<U>(_ transform: (Wrapped) async throws -> U?) async rethrows -> U? {
        switch self {
        case .some(let value): return try await transform(value)
        case .none: return nil
        }
    }
}
