import Foundation

/// How the veileder identified the person they admit, as Normen's faktaark
/// 54 asks at a first video consultation with someone not known: recorded
/// in the admission's audit entry as the method only, never a number or a
/// name. On the wire: `admit {participant, identification}`.
public enum Identification: String, Sendable, Codable, CaseIterable {
    /// Known to the veileder from before ("kjent fra før").
    case known
    /// Showed valid identification on camera ("viste legitimasjon").
    case document = "id-document"
    /// Logged in with ID-porten before knocking (only for such a knock).
    case idPorten = "id-porten"

    /// For the audit entry.
    public var description: String {
        switch self {
        case .known: "known from before"
        case .document: "showed identification"
        case .idPorten: "ID-porten"
        }
    }
}

/// That a knock's person logged in with ID-porten first, and at which
/// level: all Samrom keeps of it. The ID token's personal identity number
/// is never read, stored, logged or sent. On the wire, in `knock`:
/// `"identified": {"method": "id-porten", "level": "high"}`.
public struct VerifiedIdentity: Sendable, Equatable, Codable {
    public enum Level: String, Sendable, Codable {
        /// `idporten-loa-high` (BankID, Buypass, Commfides).
        case high
    }

    public let level: Level
    public let expiresAt: Date

    /// How long a verification may wait for its knock.
    public static let lifetime: TimeInterval = 900
    /// The `acr` an ID token must carry.
    public static let requiredACR = "idporten-loa-high"

    public init(level: Level, expiresAt: Date) {
        self.level = level
        self.expiresAt = expiresAt
    }

    public var description: String { "verified with ID-porten (\(level.rawValue) level)" }
}
