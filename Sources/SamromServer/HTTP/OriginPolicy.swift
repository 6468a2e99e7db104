import HTTPTypes

/// Which browser origins may change state or open `/ws`.
///
/// Browsers always send `Origin` on WebSocket upgrades and on cross-site
/// POSTs, and `Sec-Fetch-Site` on every request; page scripts cannot forge
/// either. A request is refused when either says it comes from elsewhere, when
/// it carries more than one Origin, or when its Origin is `null` (sandboxed
/// frames). Browsers only ever send `http(s)` origins, so a request with no
/// Origin, or a `ws(s)://` one as native WebSocket libraries send, is not a
/// browser's and cannot ride on a visitor's cookie: it is allowed.
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
        let origins = fields[values: .origin]
        guard let origin = origins.first else { return true }
        guard origins.count == 1 else { return false }
        let lowered = origin.lowercased()
        if lowered.hasPrefix("wss://") || lowered.hasPrefix("ws://") { return true }
        return isAllowedOrigin(origin, authority: authority)
    }

    func isAllowedOrigin(_ origin: String, authority: String?) -> Bool {
        let origin = Self.normalised(origin)
        if let publicOrigin { return origin == publicOrigin }
        guard let authority, !authority.isEmpty else { return false }
        return origin == "https://" + authority.lowercased()
    }

    /// The origin people use for links and redirects: `--public-origin`,
    /// else `https://` and the request's own Host when it is plausible.
    func origin(authority: String?) -> String? {
        if let publicOrigin { return publicOrigin }
        guard let authority, Self.isPlausibleAuthority(authority) else { return nil }
        return "https://" + authority.lowercased()
    }

    static func isPlausibleAuthority(_ text: String) -> Bool {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]".utf8)
        return !text.isEmpty && text.utf8.count <= 255 && text.utf8.allSatisfy(allowed.contains)
    }

    static func normalised(_ origin: String) -> String {
        var text = origin.lowercased()
        while text.hasSuffix("/") { text.removeLast() }
        if text.hasSuffix(":443"), text.hasPrefix("https://") { text.removeLast(4) }
        return text
    }
}
