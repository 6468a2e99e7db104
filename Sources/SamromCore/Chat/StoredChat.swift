import Foundation

/// One recipient's copy of a chat message as the server stored it: who sent
/// it (participant and role), the message's sequence number in the
/// consultation (shared by all its copies) and when it was stored.
public struct StoredChat: Sendable, Equatable {
    public var from: ParticipantID
    public var senderRole: ParticipantRole
    public var clientMsgId: String
    public var senderKeyId: String
    public var copy: ChatCopy
    public var seq: UInt64
    public var storedAt: Date

    public init(
        from: ParticipantID, senderRole: ParticipantRole, clientMsgId: String, senderKeyId: String, copy: ChatCopy, seq: UInt64,
        storedAt: Date
    ) {
        self.from = from
        self.senderRole = senderRole
        self.clientMsgId = clientMsgId
        self.senderKeyId = senderKeyId
        self.copy = copy
        self.seq = seq
        self.storedAt = storedAt
    }
}
