import Foundation

/// A login whose password was right but that is not yet a session: it
/// waits for a second factor, or (with `--require-second-factor`) for one
/// to be enrolled. Stored by the hash of its cookie token, so the next step
/// may reach any instance; a few minutes and a few tries, then gone.
public struct PendingLogin: Sendable, Equatable {
    public enum Purpose: String, Sendable, CaseIterable {
        /// A TOTP or recovery code completes it (`POST /api/session/second-factor`).
        case secondFactor = "second-factor"
        /// Enrolling a TOTP completes it (`POST /api/me/totp`, then `/confirm`).
        case enrolment = "enrol-second-factor"
    }

    /// What someone holding the pending cookie asks to do.
    public enum Step: Sendable, CaseIterable {
        case secondFactor, startEnrolment, confirmEnrolment

        /// Giving a code costs one of the login's tries; asking for a secret does not.
        public var costsAttempt: Bool { self != .startEnrolment }
    }

    public var tokenHash: TokenHash
    public var account: AccountID
    public var purpose: Purpose
    public var createdAt: Date
    public var expiresAt: Date
    /// Codes that may still be tried.
    public var attemptsLeft: Int

    public init(tokenHash: TokenHash, account: AccountID, purpose: Purpose, createdAt: Date, expiresAt: Date, attemptsLeft: Int) {
        self.tokenHash = tokenHash
        self.account = account
        self.purpose = purpose
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.attemptsLeft = attemptsLeft
    }

    /// The one place that says what a pending login may do: nothing but
    /// the step it was made for. It is never a session.
    public func permits(_ step: Step) -> Bool {
        switch (purpose, step) {
        case (.secondFactor, .secondFactor), (.enrolment, .startEnrolment), (.enrolment, .confirmEnrolment): true
        default: false
        }
    }

    public func isLive(at now: Date) -> Bool { now < expiresAt && attemptsLeft > 0 }
}

/// The store's answer to taking one try of a pending login.
public enum PendingLoginAttempt: Sendable, Equatable {
    /// A try was taken; the login as it is after it.
    case taken(PendingLogin)
    /// It exists but has expired or has no tries left: nothing taken.
    case spent(PendingLogin)
    case unknown
}

/// What a right password leads to, and the pending login it makes.
public struct SecondFactorPolicy: Sendable, Equatable {
    /// `--require-second-factor`: no session without a confirmed second factor.
    public var required: Bool
    public var pendingLifetime: TimeInterval
    public var attempts: Int

    public init(required: Bool = false, pendingLifetime: TimeInterval = 300, attempts: Int = 5) {
        self.required = required
        self.pendingLifetime = pendingLifetime
        self.attempts = attempts
    }

    public enum AfterPassword: Sendable, Equatable {
        case session
        case pending(PendingLogin.Purpose)
    }

    public func afterPassword(enrolled: Bool) -> AfterPassword {
        if enrolled { return .pending(.secondFactor) }
        return required ? .pending(.enrolment) : .session
    }

    public func pendingLogin(_ token: TokenHash, account: AccountID, purpose: PendingLogin.Purpose, now: Date) -> PendingLogin {
        PendingLogin(
            tokenHash: token, account: account, purpose: purpose, createdAt: now,
            expiresAt: now.addingTimeInterval(pendingLifetime), attemptsLeft: attempts)
    }
}
