import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SamromCore
import SamromTestSupport

/// An HTTPS client for one test user: keeps the session cookie like a browser.
final class HTTPTestClient: @unchecked Sendable {
    let server: LiveServer
    var client: HTTPClient { Self.shared }
    /// One client for the run (never shut down, so never deinitialised early).
    static let shared = HTTPClient(
        eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: TestCertificates.clientConfiguration))
    /// `samrom_session=…`, once logged in.
    var cookie: String?
    /// `samrom_pending=…`, while a login waits for its second step.
    var pendingCookie: String?

    struct Reply {
        let status: Int
        let headers: HTTPHeaders
        let body: String
        var json: [String: JSONValue] {
            guard case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: Data(body.utf8)) else { return [:] }
            return object
        }
        /// `error.code` of an error reply.
        var errorCode: String? {
            guard case .object(let error)? = json["error"], case .string(let code)? = error["code"] else { return nil }
            return code
        }
        func string(_ key: String) -> String? {
            if case .string(let value)? = json[key] { return value }
            return nil
        }
    }

    init(_ server: LiveServer) {
        self.server = server
    }

    func request(_ method: HTTPMethod, _ path: String, body: String? = nil, headers: [(String, String)] = []) async throws -> Reply {
        var request = HTTPClientRequest(url: server.baseURL + path)
        request.method = method
        if let body {
            request.body = .bytes(ByteBuffer(string: body))
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        let cookies = [cookie, pendingCookie].compactMap { $0 }
        if !cookies.isEmpty { request.headers.add(name: "Cookie", value: cookies.joined(separator: "; ")) }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await client.execute(request, timeout: .seconds(30))
        let buffer = try await response.body.collect(upTo: 4 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: String(buffer: buffer))
    }

    @discardableResult
    func login(_ username: String, _ password: String = "correct horse battery") async throws -> Reply {
        let reply = try await request(.POST, "/api/session", body: #"{"username":"\#(username)","password":"\#(password)"}"#)
        keepCookies(reply)
        return reply
    }

    /// Keeps what a successful answer's `Set-Cookie` headers say, as a
    /// browser would (a cookie sent with `Max-Age=0` is forgotten).
    func keepCookies(_ reply: Reply) {
        guard (200..<300).contains(reply.status) else { return }
        for header in reply.headers["Set-Cookie"] {
            let pair = String(header.split(separator: ";")[0])
            let value = header.contains("Max-Age=0") ? nil : pair
            if pair.hasPrefix("samrom_session=") { cookie = value }
            if pair.hasPrefix("samrom_pending=") { pendingCookie = value }
        }
    }

    /// Creates a consultation and returns its id and join token.
    func createConsultation(title: String? = nil, days: Int? = nil) async throws -> (id: String, token: String) {
        var fields: [String] = []
        if let title { fields.append(#""title":"\#(title)""#) }
        if let days { fields.append(#""validForDays":\#(days)"#) }
        let reply = try await request(.POST, "/api/consultations", body: "{" + fields.joined(separator: ",") + "}")
        guard reply.status == 201, let id = reply.string("id"), let url = reply.string("joinUrl"),
            let token = url.split(separator: "#").last
        else { throw TestFailure("create failed: \(reply.status) \(reply.body)") }
        return (id, String(token))
    }
}
