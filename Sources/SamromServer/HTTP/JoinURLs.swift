import Foundation
import Hummingbird
import SamromCore

/// Join links as this server writes them, and read back when a veileder's
/// page hands one in for an invitation: `https://HOST/j/#TOKEN`, or with
/// several instances `https://HOST/j/?r=ROUTE#TOKEN`. The token travels in
/// the fragment, which browsers never send to a server or put in a Referer.
struct JoinURLs: Sendable {
    let policy: OriginPolicy
    /// The cluster's route secret; links carry the route key only when
    /// several instances may serve them (`--instance-name`).
    let routeSecret: [UInt8]
    let routeInJoinLinks: Bool

    func url(_ token: JoinToken, for consultation: ConsultationID, request: Request) throws -> String {
        let route = routeInJoinLinks ? "?r=" + RouteKey.of(consultation, secret: routeSecret).rawValue : ""
        return try origin(request) + "/j/" + route + "#" + token.encoded
    }

    /// The token of a link this server wrote (same origin, `/j/`, token in
    /// the fragment); nil for anything else. Whether it is still a link of
    /// the consultation is the store's to say.
    func token(in url: String, request: Request) throws -> JoinToken? {
        guard url.utf8.count <= 512, url.hasPrefix(try origin(request) + "/j/"), let hash = url.firstIndex(of: "#") else { return nil }
        return JoinToken.parse(String(url[url.index(after: hash)...]))
    }

    /// `https://HOST` of this request, as the origin policy allows it.
    func origin(_ request: Request) throws -> String {
        guard let origin = policy.origin(authority: request.head.authority) else {
            throw APIError.badRequest("The Host header is missing or malformed.")
        }
        return origin
    }
}
