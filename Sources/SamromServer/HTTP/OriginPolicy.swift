import HTTPTypes

/// Which browser origins may change state or open `/ws`.
///
/// Browsers always send `Origin` on WebSocket upgrades and on cross-site
/// POSTs, and `Sec-Fetch-Site` on every request. A request is refused when
/// either says it comes from elsewhere. A request with neither header is not
/// from a browser (curl, the CLI, test clients) and cannot carry an ambient
/// cookie, so it is allowed.
public struct OriginPolicy: Sendable {
    /// The configured public origin, e.g. `https://samrom.kommune.no`.
    public let publicOrigin: String?

    public init(publicOrigin: String?) {
        self.publicOrigin = publicOrigin.map(Self.normalised)
    }

    public func allows(_ fields: HTTPFields, authority: String?) -> Bool {
        if let site = fields[HTTPField.Name("Sec-Fetch-Site")!], site != "same-origin", site != "none" {
            return false
        }
        guard let origin = fields[.origin] else { return true }
        return isAllowedOrigin(origin, authority: authority)
    }

    func isAllowedOrigin(_ origin: String, authority: String?) -> Bool {
        let origin = Self.normalised(origin)
        if let publicOrigin { return origin == publicOrigin }
        guard let authority, !authority.isEmpty else { return false }
        return origin == "https://" + authority.lowercased()
    }

    static func normalised(_ origin: String) -> String {
        var text = origin.lowercased()
        while text.hasSuffix("/") { text.removeLast() }
        if text.hasSuffix(":443"), text.hasPrefix("https://") { text.removeLast(4) }
        return text
    }
}
