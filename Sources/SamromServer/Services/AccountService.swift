import Foundation
import SamromCore
import Sodium

/// Accounts, passwords and login sessions: the one place a session is
/// opened, after a password alone or after its second step.
public final class AccountService: Sendable {
    let store: any AccountStore & SessionStore
    let auditor: Auditor
    public let secondFactors: SecondFactorService
    let clock: WallClock
    let configuration: ServerConfiguration
    let throttle: ThrottleBox
    let passwords: PasswordWorkers
    /// A hash of a random password with the same limits, verified against when
    /// the username is unknown so the reply takes as long as for a real account.
    let decoyHash: String

    public init(
        store: any AccountStore & SessionStore, auditor: Auditor, secondFactors: SecondFactorService, clock: WallClock,
        configuration: ServerConfiguration
    ) throws {
        self.store = store
        self.auditor = auditor
        self.secondFactors = secondFactors
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
        /// The password was right; the login waits for its second factor,
        /// or for one to be enrolled (`--require-second-factor`).
        case pending(PendingLogin.Purpose, PendingLoginToken)
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
        let keys = Self.throttleKeys(username: Account.normalisedUsername(raw) ?? raw.lowercased(), clientIP: clientIP)
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
        let limits = configuration.passwordLimits
        if PasswordHash.needsRehash(account.passwordHash, limits: limits),
            let upgraded = try? await passwords.run({ try PasswordHash.hash(password: password, limits: limits) })
        {
            try await store.updatePasswordHash(upgraded, for: account.id)
        }
        switch try await secondFactors.afterPassword(account) {
        case .session:
            await throttle.succeeded(keys)
            return .success(account, try await openSession(for: account, reason: "password login", clientIP: clientIP))
        case .pending(let purpose, let token):
            // The address's attempt is taken back (the password was right);
            // the account's stays counted until the second step succeeds, so
            // a stolen password buys no fresh tries at the code.
            await throttle.withdraw(keys.filter { if case .address = $0 { true } else { false } })
            let waitsFor = purpose == .secondFactor ? "its second factor" : "a second factor to be set up"
            try await auditor.record(
                .loginPending, actor: .user(account), outcome: .allowed, reason: "password right; waits for \(waitsFor)",
                clientIP: clientIP)
            return .pending(purpose, token)
        }
    }

    /// A login through the municipality's identity provider, whose ID token
    /// has been verified: the session of the local account linked to the
    /// claim's value, or nil (logged) when there is none or it is disabled.
    /// Roles come from the local account only.
    public func login(identity raw: String, provider: String, clientIP: String?) async throws -> (Account, SessionToken)? {
        guard let identity = Account.normalisedIdentity(raw), let account = try await store.account(identity: identity),
            !account.isDisabled
        else {
            try await auditor.record(
                .login, actor: .anonymous, outcome: .denied,
                reason: "OpenID Connect (\(provider)): no enabled account is linked to this identity", clientIP: clientIP)
            return nil
        }
        return (account, try await openSession(for: account, reason: "OpenID Connect (\(provider))", clientIP: clientIP))
    }

    /// The second step: a TOTP or recovery code for a pending login. Counted
    /// by the login throttle like a password; a wrong code costs one of the
    /// pending login's tries too.
    public func completeSecondFactor(_ pending: PendingLoginToken, code: String, clientIP: String?) async throws -> SecondStepResult {
        guard let login = try await secondFactors.pendingLogin(pending, for: .secondFactor) else {
            return try await noPendingLogin(clientIP: clientIP)
        }
        guard let account = try await store.account(id: login.account), !account.isDisabled else {
            return try await noPendingLogin(clientIP: clientIP)
        }
        let keys = Self.throttleKeys(username: account.username, clientIP: clientIP)
        if let wait = await throttle.admit(keys, now: clock.now) {
            try await auditor.refused(.login, actor: .user(account), reason: "throttled after repeated failures", clientIP: clientIP)
            return .throttled(retryAfter: wait)
        }
        switch try await secondFactors.verify(code, for: account.id) {
        case .accepted(let how):
            // Two right codes at once: one of them logs in.
            guard try await secondFactors.finish(login) else { return try await noPendingLogin(clientIP: clientIP) }
            await throttle.succeeded(keys)
            return .success(account, try await openSession(for: account, reason: "password and \(how)", clientIP: clientIP))
        case .refused(let why):
            try await auditor.record(.login, actor: .user(account), outcome: .denied, reason: why, clientIP: clientIP)
            return .invalid
        }
    }

    public enum SecondStepResult: Sendable {
        case success(Account, SessionToken)
        /// No live pending login behind the cookie: log in again.
        case expired
        case invalid
        case throttled(retryAfter: TimeInterval)
    }

    private func noPendingLogin(clientIP: String?) async throws -> SecondStepResult {
        try await auditor.refused(.login, reason: "second step without a live pending login", clientIP: clientIP)
        return .expired
    }

    /// The account a pending enrolment login belongs to, for `step` (one try
    /// taken when the step costs one); nil if there is none live.
    public func pendingEnrolment(_ pending: PendingLoginToken, for step: PendingLogin.Step) async throws -> (PendingLogin, Account)? {
        guard let login = try await secondFactors.pendingLogin(pending, for: step),
            let account = try await store.account(id: login.account), !account.isDisabled
        else { return nil }
        return (login, account)
    }

    /// A pending login whose enrolment was confirmed becomes a session.
    public func completeEnrolment(_ login: PendingLogin, account: Account, clientIP: String?) async throws -> SessionToken? {
        guard try await secondFactors.finish(login) else { return nil }
        await throttle.succeeded(Self.throttleKeys(username: account.username, clientIP: clientIP))
        return try await openSession(for: account, reason: "password; second factor set up", clientIP: clientIP)
    }

    /// Seconds a session cookie is kept by the browser.
    var sessionMaxAge: Int { Int(configuration.sessionLifetime) }

    /// The one place a session starts, with its audit entry.
    private func openSession(for account: Account, reason: String, clientIP: String?) async throws -> SessionToken {
        let now = clock.now
        let token = SessionToken.random()
        try await store.insertSession(
            LoginSession(
                tokenHash: token.hash, account: account.id, createdAt: now, lastSeenAt: now,
                expiresAt: now.addingTimeInterval(configuration.sessionLifetime)))
        try await auditor.record(.login, actor: .user(account), outcome: .allowed, reason: reason, clientIP: clientIP)
        return token
    }

    /// A login is throttled per username (as typed, normalised) and per address.
    static func throttleKeys(username: String, clientIP: String?) -> [LoginThrottle.Key] {
        var keys: [LoginThrottle.Key] = [.account(String(username.prefix(64)))]
        if let clientIP { keys.append(.address(clientIP)) }
        return keys
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
