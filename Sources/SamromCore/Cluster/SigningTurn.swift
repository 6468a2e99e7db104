/// One instance at a time signs the audit log's checkpoints (issue 14): the
/// others append entries and leave the signing to whoever holds the turn. On
/// PostgreSQL the turn is a session advisory lock held on a connection of its
/// own, so it passes to another instance as soon as its holder dies.
public protocol SigningTurn: Sendable {
    /// True while this process holds the turn; takes it when it is free.
    func holdSigningTurn() async -> Bool
    /// Lets the turn go (at shutdown, after the last checkpoint).
    func releaseSigningTurn() async
}
