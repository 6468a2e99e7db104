import Foundation

/// What the pages tell people before they join and in every footer, taken
/// from the running configuration (`GET /api/about`), never written into the
/// pages: how sound and video travel, how long the server keeps the sealed
/// chat and the access log, and where the municipality's own privacy notice
/// and accessibility statement are (Normen faktaark 54: the person is told,
/// before the consultation, how it works and how their data is processed).
public struct PrivacyFacts: Codable, Sendable, Equatable {
    /// How sound and video go between the browsers.
    public enum MediaPath: String, Codable, Sendable {
        /// No TURN relay configured: always browser to browser.
        case direct
        /// Browser to browser, or through the municipality's TURN relay
        /// (which forwards encrypted media it cannot read) when a network
        /// allows nothing else.
        case relayWhenNeeded = "relay-when-needed"
        /// Always through the relay (`--ice-transport-policy relay`), so
        /// nobody learns another participant's IP address.
        case relayAlways = "relay-always"
    }

    public var mediaPath: MediaPath
    /// Sealed chat copies are deleted this many days after the consultation
    /// ended (0: when it ends).
    public var chatRetentionDays: Int
    /// The access log's entries lose their content after this many days.
    public var auditRetentionDays: Int
    /// The municipality's privacy notice (`--privacy-notice-url`).
    public var privacyNoticeUrl: String?
    /// Its accessibility statement, e.g. on uustatus.no (`--accessibility-statement-url`).
    public var accessibilityStatementUrl: String?

    public init(
        mediaPath: MediaPath, chatRetentionDays: Int, auditRetentionDays: Int,
        privacyNoticeUrl: String? = nil, accessibilityStatementUrl: String? = nil
    ) {
        self.mediaPath = mediaPath
        self.chatRetentionDays = chatRetentionDays
        self.auditRetentionDays = auditRetentionDays
        self.privacyNoticeUrl = privacyNoticeUrl
        self.accessibilityStatementUrl = accessibilityStatementUrl
    }

    /// A link the pages may show: an absolute https URL with a host, at most
    /// 512 characters, with nothing that could break out of an attribute.
    public static func isValidLink(_ text: String) -> Bool {
        guard text.hasPrefix("https://"), text.utf8.count <= 512,
              !text.contains(where: { $0.isWhitespace || $0.isNewline || "\"'<>\\`".contains($0) }),
              !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }),
              let url = URL(string: text), let host = url.host, !host.isEmpty
        else { return false }
        return true
    }

    // Absent links are `null`, not missing, so a client need not guess.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(mediaPath, forKey: .mediaPath)
        try container.encode(chatRetentionDays, forKey: .chatRetentionDays)
        try container.encode(auditRetentionDays, forKey: .auditRetentionDays)
        try container.encode(privacyNoticeUrl, forKey: .privacyNoticeUrl)
        try container.encode(accessibilityStatementUrl, forKey: .accessibilityStatementUrl)
    }

    enum CodingKeys: String, CodingKey {
        case mediaPath, chatRetentionDays, auditRetentionDays, privacyNoticeUrl, accessibilityStatementUrl
    }
}
