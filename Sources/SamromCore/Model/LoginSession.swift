import Foundation

/// A logged-in browser. Stored by the hash of its cookie token only.
public struct LoginSession: Sendable, Equatable {
    public var tokenHash: TokenHash
    public var account: AccountID
    public var createdAt: Date
    public var lastSeenAt: Date
    /// Absolute expiry; idle expiry is `lastSeenAt + idleTimeout`.
    public var expiresAt: Date

    public init(tokenHash: TokenHash, account: AccountID, createdAt: Date, lastSeenAt: Date, expiresAt: Date) {
        self.tokenHash = tokenHash
        self.account = account
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
        self.expiresAt = expiresAt
    }

    public func isValid(at now: Date, idleTimeout: TimeInterval) -> Bool {
        now < expiresAt && now < lastSeenAt.addingTimeInterval(idleTimeout)
    }
}
