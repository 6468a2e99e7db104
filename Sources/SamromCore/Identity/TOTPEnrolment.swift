import Foundation

/// A local account's TOTP second factor, as stored: the secret sealed,
/// when enrolment began, when a first code confirmed it (nil until then:
/// an unconfirmed enrolment is not asked for at login), and the last time
/// step accepted (a step is used at most once).
public struct TOTPEnrolment: Sendable, Equatable {
    public var account: AccountID
    public var sealedSecret: SealedSecret
    public var startedAt: Date
    public var confirmedAt: Date?
    public var lastStep: Int64

    public init(account: AccountID, sealedSecret: SealedSecret, startedAt: Date, confirmedAt: Date?, lastStep: Int64) {
        self.account = account
        self.sealedSecret = sealedSecret
        self.startedAt = startedAt
        self.confirmedAt = confirmedAt
        self.lastStep = lastStep
    }

    public var isConfirmed: Bool { confirmedAt != nil }
}
