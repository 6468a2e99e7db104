import Foundation

/// A consultation's current join link for one invited role. Only the hash of
/// its token is kept; a new link for the role replaces this one, and the old
/// token stops working at once.
public struct JoinLink: Sendable, Equatable {
    public var role: ParticipantRole
    /// BLAKE2b hash of the token (`JoinToken.hash`).
    public var hash: TokenHash
    public var issuedAt: Date

    public init(role: ParticipantRole, hash: TokenHash, issuedAt: Date) {
        precondition(ParticipantRole.invited.contains(role), "the veileder has no join link")
        self.role = role
        self.hash = hash
        self.issuedAt = issuedAt
    }
}
