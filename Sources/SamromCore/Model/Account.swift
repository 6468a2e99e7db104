import Foundation

/// A local account. The password is only ever held as an Argon2id hash.
public struct Account: Sendable, Equatable {
    public var id: AccountID
    public var username: String
    public var role: AccountRole
    public var passwordHash: String
    public var createdAt: Date
    public var disabledAt: Date?

    public init(id: AccountID, username: String, role: AccountRole, passwordHash: String, createdAt: Date, disabledAt: Date? = nil) {
        self.id = id
        self.username = username
        self.role = role
        self.passwordHash = passwordHash
        self.createdAt = createdAt
        self.disabledAt = disabledAt
    }

    public var isDisabled: Bool { disabledAt != nil }

    /// Usernames: 1–64 of a-z, 0-9, '.', '_', '-' (lower-cased on input), so
    /// they are safe in logs, URLs and CSV and cannot be confused visually.
    public static func normalisedUsername(_ raw: String) -> String? {
        let lower = raw.lowercased()
        guard (1...64).contains(lower.utf8.count) else { return nil }
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789._-".utf8)
        guard lower.utf8.allSatisfy(allowed.contains) else { return nil }
        return lower
    }

    /// An identity provider's claim value as it is linked to an account and
    /// looked up: trimmed and lower-cased (e-mail addresses and UPNs differ
    /// in case between systems), 1–256 bytes, no control characters.
    public static func normalisedIdentity(_ raw: String) -> String? {
        let text = raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard (1...256).contains(text.utf8.count), !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else { return nil }
        return text
    }

    /// Passwords: 12 to 1024 bytes of UTF-8. Length is the rule that matters.
    public static let passwordLengthRange = 12...1024
}
