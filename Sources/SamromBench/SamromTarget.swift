import AsyncHTTPClient
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL
import SamromCore

/// Samrom as the load generator drives it, through its public surface only:
/// the HTTP API for the login and consultations, `/ws` for everything else.
struct SamromTarget: Sendable {
    typealias Message = [String: JSONValue]

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let port: Int
    let tls: TLSConfiguration
    let http: HTTPClient
    let cookie: String
    let logger: Logger

    /// Logs in as a veileder; the session cookie serves every later request and socket.
    static func login(port: Int, tls: TLSConfiguration, http: HTTPClient, username: String, password: String, logger: Logger)
        async throws -> SamromTarget
    {
        var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)/api/session")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        let body = try JSONSerialization.data(withJSONObject: ["username": username, "password": password])
        request.body = .bytes(ByteBuffer(data: body))
        let response = try await http.execute(request, timeout: .seconds(30))
        guard response.status == .noContent,
            let cookie = response.headers["Set-Cookie"].first(where: { $0.hasPrefix("samrom_session=") })?.split(separator: ";").first
        else { throw Failure(description: "login failed: \(response.status)") }
        return SamromTarget(port: port, tls: tls, http: http, cookie: String(cookie), logger: logger)
    }

    /// `POST /api/consultations`: its id and the join token from the link's fragment.
    func createConsultation(title: String) async throws -> (id: String, token: String) {
        var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)/api/consultations")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Cookie", value: cookie)
        request.body = .bytes(ByteBuffer(data: try JSONSerialization.data(withJSONObject: ["title": title])))
        let response = try await http.execute(request, timeout: .seconds(30))
        let data = try await response.body.collect(upTo: 1 << 16)
        guard response.status == .created, let object = try JSONSerialization.jsonObject(with: Data(buffer: data)) as? [String: Any],
            let id = object["id"] as? String, let link = object["joinUrl"] as? String, let hash = link.firstIndex(of: "#")
        else { throw Failure(description: "creating a consultation failed: \(response.status)") }
        return (id, String(link[link.index(after: hash)...]))
    }

    func socket(asVeileder: Bool) async throws -> BenchSocket {
        var headers = HTTPFields()
        if asVeileder { headers[.cookie] = cookie }
        return try await BenchSocket.connect("wss://127.0.0.1:\(port)/ws", headers: headers, tls: tls, logger: logger)
    }

    /// A veileder in the room of `consultation`, welcomed.
    func veileder(_ consultation: String) async throws -> BenchSocket {
        let socket = try await socket(asVeileder: true)
        socket.send(#"{"type":"hello","v":1,"consultation":"\#(consultation)"}"#)
        _ = try await Self.expect("welcome", on: socket)
        return socket
    }

    /// A deltaker through the link: welcomed, in the lobby. Returns its resume token.
    func deltaker(token: String) async throws -> (socket: BenchSocket, resume: String) {
        let socket = try await socket(asVeileder: false)
        socket.send(#"{"type":"hello","v":1,"token":"\#(token)"}"#)
        let welcome = try await Self.expect("welcome", on: socket)
        guard case .string(let resume)? = welcome["resume"] else { throw Failure(description: "welcome without resume") }
        _ = try await Self.expect("lobby", on: socket)
        return (socket, resume)
    }

    /// The veileder admits the one who knocked; returns when the deltaker is told.
    func admit(veileder: BenchSocket, deltaker: BenchSocket) async throws {
        let knock = try await Self.expect("knock", on: veileder)
        guard case .string(let participant)? = knock["participant"] else { throw Failure(description: "knock without participant") }
        veileder.send(#"{"type":"admit","participant":"\#(participant)"}"#)
        _ = try await Self.expect("admitted", on: deltaker)
        _ = try await Self.expect("peer-joined", on: veileder)
    }

    /// A consultation with its veileder and an admitted deltaker in the call.
    func pair(_ index: Int) async throws -> Pair {
        let (id, token) = try await createConsultation(title: "Benchmark \(index)")
        let veileder = try await veileder(id)
        let (deltaker, resume) = try await deltaker(token: token)
        try await admit(veileder: veileder, deltaker: deltaker)
        return Pair(consultation: id, veileder: veileder, deltaker: deltaker, deltakerResume: resume)
    }

    struct Pair: Sendable {
        let consultation: String
        let veileder: BenchSocket
        let deltaker: BenchSocket
        let deltakerResume: String
    }

    /// Reads until a message of `type` arrives; `pong`, `peer-joined`/`peer-left`
    /// and relayed keys on the way are skipped, an `error` fails.
    static func expect(_ type: String, on socket: BenchSocket, skipping: Set<String> = ["pong", "peer-left", "key", "lobby", "peer-joined"])
        async throws -> Message
    {
        while let text = await socket.nextText() {
            guard case .object(let message) = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)),
                case .string(let actual)? = message["type"]
            else { throw Failure(description: "not a protocol message") }
            if actual == type { return message }
            if actual == "error" { throw Failure(description: "expected \(type), got error \(message["code"] ?? .null)") }
            if skipping.contains(actual) { continue }
            throw Failure(description: "expected \(type), got \(actual)")
        }
        throw Failure(description: "connection closed while waiting for \(type)")
    }
}
