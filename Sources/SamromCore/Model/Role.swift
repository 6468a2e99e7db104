/// What an account may do.
public enum AccountRole: String, Sendable, Codable, CaseIterable {
    /// Opens consultations and talks with deltakere.
    case veileder
    /// The personvernombud: reads and verifies the audit log.
    case privacyOfficer = "privacy-officer"
    /// Manages accounts.
    case admin
    /// The centre's leader: reads the anonymous monthly figures, nothing else.
    case leder

    /// The page an account of this role lands on after logging in.
    public var homePage: String {
        switch self {
        case .veileder, .admin: "/"
        case .privacyOfficer: "/audit/"
        case .leder: "/leder/"
        }
    }
}

/// Who someone is inside a consultation's call.
public enum ParticipantRole: String, Sendable, Codable, CaseIterable {
    /// The consultation's owner, by session cookie.
    case veileder
    /// A participant who came by the deltaker link (several may share one link in a group).
    case deltaker
    /// An interpreter, who came by the tolk link.
    case tolk

    /// The roles that join by a link and knock; the veileder never does.
    public static let invited: [ParticipantRole] = [.deltaker, .tolk]
}
