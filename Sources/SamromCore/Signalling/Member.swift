/// Someone in a consultation's lobby or call: a pseudonymous participant id
/// (the only identity a deltaker or tolk ever has here) and a role.
/// On the wire: `{"participant": "p-…", "role": "tolk"}`.
public struct Member: Sendable, Hashable, Codable {
    public var participant: ParticipantID
    public var role: ParticipantRole

    public init(participant: ParticipantID, role: ParticipantRole) {
        self.participant = participant
        self.role = role
    }
}
