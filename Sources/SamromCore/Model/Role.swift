/// What an account may do.
public enum AccountRole: String, Sendable, Codable, CaseIterable {
    /// Opens consultations and talks with deltakere.
    case veileder
    /// The personvernombud: reads and verifies the audit log.
    case privacyOfficer = "privacy-officer"
    /// Manages accounts.
    case admin
}

/// Who someone is inside a consultation's room.
public enum ParticipantRole: String, Sendable, Codable {
    case veileder
    case deltaker
}
