import Foundation
import SamromCore
import SamromStore
import Sodium

/// TOTP second factors of local accounts: enrolment with recovery codes,
/// checking a code at the second step of a login, pending logins, and the
/// administrator's reset. Sessions, the login throttle and the login's
/// audit entries are `AccountService`'s: it calls this.
public final class SecondFactorService: Sendable {
    let store: any AccountStore & SecondFactorStore
    let auditor: Auditor
    let clock: WallClock
    let policy: SecondFactorPolicy
    let issuer: String
    /// Nil only where no secret is ever opened (see `ServerConfiguration.loadsSecondFactorKey`).
    let key: SecondFactorKey?

    init(
        store: any AccountStore & SecondFactorStore, auditor: Auditor, clock: WallClock, configuration: ServerConfiguration,
        key: SecondFactorKey?
    ) {
        self.store = store
        self.auditor = auditor
        self.clock = clock
        self.policy = configuration.secondFactor
        self.issuer = configuration.effectiveTOTPIssuer
        self.key = key
    }

    /// The key in the data directory (made on first use), checked against
    /// the one the store records: instances sharing a store must hold the
    /// same key, and one with another key does not start.
    static func loadKey(_ configuration: ServerConfiguration, store: any SecondFactorStore) async throws -> SecondFactorKey? {
        let directory = configuration.dataDirectory
        guard configuration.loadsSecondFactorKey else { return nil }
        let key = try SecondFactorKeyFile.load(in: directory) ?? SecondFactorKeyFile.create(in: directory)
        let recorded = try await store.secondFactorKeyID(recording: key.id)
        guard recorded == key.id else {
            throw SamromApp.StartupFailure(
                description: "the second-factor key in \(directory.path) is not the key this store's TOTP secrets are sealed "
                    + "with; copy \(SecondFactorKeyFile.fileName) from an instance that shares the store")
        }
        return key
    }

    struct KeyMissing: Error, CustomStringConvertible {
        var description: String { "no second-factor key is loaded here" }
    }

    private func sealingKey() throws -> SecondFactorKey {
        guard let key else { throw KeyMissing() }
        return key
    }

    public func isEnrolled(_ account: AccountID) async throws -> Bool {
        try await store.totpEnrolment(of: account)?.isConfirmed == true
    }

    // MARK: Enrolment

    /// What the person copies into an authenticator app, once.
    public struct Enrolment: Sendable {
        public let secret: String
        public let otpauthURL: String
    }

    /// Starts enrolment with a new secret (replacing an unconfirmed one);
    /// nil if the account's second factor is confirmed already.
    public func begin(for account: Account, clientIP: String?) async throws -> Enrolment? {
        let secret = TOTPSecret.random()
        let sealed = try sealingKey().seal(secret, for: account.id)
        guard try await store.beginTOTPEnrolment(account.id, sealedSecret: sealed, at: clock.now) else {
            try await auditor.record(
                .secondFactorEnrol, actor: .user(account), outcome: .denied, reason: "a second factor is set up already",
                clientIP: clientIP)
            return nil
        }
        try await auditor.record(
            .secondFactorEnrol, actor: .user(account), outcome: .allowed, reason: "TOTP enrolment started", clientIP: clientIP)
        return Enrolment(secret: secret.base32, otpauthURL: secret.otpauthURL(issuer: issuer, username: account.username))
    }

    public enum Confirmation: Sendable {
        /// Confirmed; the recovery codes, to be shown once.
        case confirmed([RecoveryCode])
        case wrongCode
        /// No unconfirmed enrolment (never begun, confirmed already, or
        /// restarted meanwhile).
        case notStarted
    }

    /// A first code from the app confirms the enrolment and makes its recovery codes.
    public func confirm(_ text: String, for account: Account, clientIP: String?) async throws -> Confirmation {
        guard let enrolment = try await store.totpEnrolment(of: account.id), !enrolment.isConfirmed else {
            try await auditor.record(
                .secondFactorConfirm, actor: .user(account), outcome: .denied, reason: "no enrolment to confirm", clientIP: clientIP)
            return .notStarted
        }
        let secret = try sealingKey().open(enrolment.sealedSecret, for: account.id)
        guard let code = TOTPCode(text), case .accept(let step) = TOTPGenerator.check(code, secret: secret, at: clock.now, after: nil)
        else {
            try await auditor.record(
                .secondFactorConfirm, actor: .user(account), outcome: .denied, reason: "wrong code", clientIP: clientIP)
            return .wrongCode
        }
        let codes = RecoveryCode.batch()
        guard
            try await store.confirmTOTPEnrolment(
                account.id, sealedSecret: enrolment.sealedSecret, step: step, recoveryCodes: codes.map { $0.hash(for: account.id) },
                at: clock.now)
        else {
            try await auditor.record(
                .secondFactorConfirm, actor: .user(account), outcome: .denied, reason: "the enrolment was restarted meanwhile",
                clientIP: clientIP)
            return .notStarted
        }
        try await auditor.record(
            .secondFactorConfirm, actor: .user(account), outcome: .allowed,
            reason: "TOTP confirmed; \(codes.count) recovery codes made", clientIP: clientIP)
        return .confirmed(codes)
    }

    // MARK: The second step of a login

    public enum Verification: Sendable, Equatable {
        /// Accepted; how, in words for the audit entry (no code in it).
        case accepted(String)
        /// Wrong, or not a code at all; the reason for the audit entry.
        case refused(String)
    }

    /// Checks a TOTP code (each step accepted once) or uses a recovery code (once).
    func verify(_ text: String, for account: AccountID) async throws -> Verification {
        guard let code = SecondFactorCode.parse(text) else { return .refused("not a code") }
        guard let enrolment = try await store.totpEnrolment(of: account), enrolment.isConfirmed else {
            return .refused("no second factor set up")
        }
        switch code {
        case .totp(let code):
            let secret = try sealingKey().open(enrolment.sealedSecret, for: account)
            switch TOTPGenerator.check(code, secret: secret, at: clock.now, after: enrolment.lastStep) {
            case .accept(let step):
                // Two logins racing with the same code: the store lets one through.
                return try await store.acceptTOTPStep(step, for: account) ? .accepted("TOTP") : .refused("TOTP code used already")
            case .replayed:
                return .refused("TOTP code used already")
            case .wrong:
                return .refused("wrong TOTP code")
            }
        case .recovery(let code):
            switch try await store.useRecoveryCode(code.hash(for: account), for: account, at: clock.now) {
            case .used(let remaining): return .accepted("recovery code (\(remaining) left)")
            case .alreadyUsed: return .refused("recovery code used already")
            case .unknown: return .refused("wrong recovery code")
            }
        }
    }

    // MARK: Pending logins

    public enum AfterPassword: Sendable {
        case session
        case pending(PendingLogin.Purpose, PendingLoginToken)
    }

    /// What a right password leads to: a session, or a pending login.
    func afterPassword(_ account: Account) async throws -> AfterPassword {
        switch policy.afterPassword(enrolled: try await isEnrolled(account.id)) {
        case .session:
            return .session
        case .pending(let purpose):
            let token = PendingLoginToken.random()
            try await store.insertPendingLogin(policy.pendingLogin(token.hash, account: account.id, purpose: purpose, now: clock.now))
            return .pending(purpose, token)
        }
    }

    /// The live pending login behind a cookie, if it was made for `step`,
    /// with one of its tries taken when the step costs one.
    func pendingLogin(_ token: PendingLoginToken, for step: PendingLogin.Step) async throws -> PendingLogin? {
        let now = clock.now
        guard let login = try await store.pendingLogin(tokenHash: token.hash), login.isLive(at: now), login.permits(step) else {
            return nil
        }
        guard step.costsAttempt else { return login }
        guard case .taken(let taken) = try await store.takePendingLoginAttempt(tokenHash: token.hash, now: now) else { return nil }
        return taken
    }

    /// Ends a pending login: true for exactly one caller.
    func finish(_ login: PendingLogin) async throws -> Bool {
        try await store.deletePendingLogin(tokenHash: login.tokenHash)
    }

    // MARK: Administration (CLI)

    /// Removes an account's second factor and recovery codes and ends its
    /// sessions; it enrols again at its next login (or from its page).
    public func reset(username raw: String) async throws -> Bool {
        guard let username = Account.normalisedUsername(raw), let account = try await store.account(username: username),
            try await store.removeSecondFactor(of: account.id)
        else { return false }
        try await auditor.record(
            .secondFactorReset, actor: .system, outcome: .allowed, reason: "second factor of account \(account.id) reset",
            clientIP: nil)
        return true
    }
}
