import Foundation

/// A chat envelope as the server stored it: the envelope, its sequence
/// number in the consultation, the sender's role and when it was stored.
public struct StoredChat: Sendable, Equatable {
    public var envelope: ChatEnvelope
    public var seq: UInt64
    public var senderRole: ParticipantRole
    public var storedAt: Date

    public init(envelope: ChatEnvelope, seq: UInt64, senderRole: ParticipantRole, storedAt: Date) {
        self.envelope = envelope
        self.seq = seq
        self.senderRole = senderRole
        self.storedAt = storedAt
    }
}
