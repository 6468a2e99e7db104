import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SamromTestSupport

/// One HTTPS request to a `samrom serve` process, over the certificate it
/// uses, with its own client (made and shut down here, also on failure).
struct ServerRequest {
    struct Reply {
        let status: Int
        let headers: HTTPHeaders
        let body: String
        /// `samrom_session=…` from the `Set-Cookie` of a login.
        var cookie: String? { headers.first(name: "Set-Cookie")?.split(separator: ";").first.map(String.init) }
    }

    static func send(
        _ server: SamromProcess.Instance, _ method: HTTPMethod, _ path: String, json body: String? = nil, cookie: String? = nil
    ) async throws -> Reply {
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: server.tls))
        do {
            var request = HTTPClientRequest(url: "https://localhost:\(server.port)\(path)")
            request.method = method
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: body))
            }
            if let cookie { request.headers.add(name: "Cookie", value: cookie) }
            let response = try await client.execute(request, timeout: .seconds(30))
            let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
            try await client.shutdown()
            return Reply(status: Int(response.status.code), headers: response.headers, body: text)
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// Logs in; the reply's `cookie` is the session.
    static func login(_ server: SamromProcess.Instance, _ username: String, _ password: String) async throws -> Reply {
        try await send(server, .POST, "/api/session", json: #"{"username":"\#(username)","password":"\#(password)"}"#)
    }
}
