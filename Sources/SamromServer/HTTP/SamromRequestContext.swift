import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import SamromCore

/// What middleware learned about a request: who is logged in, and from where.
public struct SamromRequestContext: RequestContext, RemoteAddressRequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<Self>
    public let remoteAddress: SocketAddress?
    /// Set by `SessionMiddleware` when a valid `samrom_session` cookie came with the request.
    public var account: Account?
    public var sessionHash: TokenHash?
    /// Set by the app from its configuration.
    public var maxBodyBytes: Int = 16 * 1024
    /// The client's address as a trusted reverse proxy reported it
    /// (`ClientAddressMiddleware`); nil when the peer is the client.
    public var forwardedClientIP: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        remoteAddress = source.channel.remoteAddress
    }

    public var maxUploadSize: Int { maxBodyBytes }

    /// Stable key order, and URLs without escaped slashes.
    public var responseEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// The client's IP address as text, for the audit log and per-address limits.
    public var clientIP: String? { forwardedClientIP ?? remoteAddress?.ipAddress }

    /// The logged-in account, or 401.
    public func requireAccount() throws -> Account {
        guard let account else { throw APIError.unauthenticated }
        return account
    }

    /// The `:id` of a consultation route; 404 when it cannot be one.
    public func consultationParameter() throws -> ConsultationID {
        guard let raw = parameters.get("id"), ConsultationID.isWellFormed(raw) else { throw APIError.notFound }
        return ConsultationID(rawValue: raw)
    }

    public func requireRole(_ role: AccountRole) throws -> Account {
        let account = try requireAccount()
        guard account.role == role else { throw APIError.forbidden("This needs the \(role.rawValue) role.") }
        return account
    }
}
