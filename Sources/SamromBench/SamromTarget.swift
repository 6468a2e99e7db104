import AsyncHTTPClient
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL
import SamromCore
import Sodium

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

    /// One participant's side of a call as the load generator plays it: the
    /// socket, who the server says it is, and its real device key pair.
    struct Participant: Sendable {
        let socket: BenchSocket
        let participant: ParticipantID
        let keys: KeyExchange.KeyPair
        var keyID: String { DeviceKey.keyID(keys.publicKey) }

        /// `{"type":"key","publicKey":…}`: announces this device's key in the call.
        func announceKey() {
            socket.send(#"{"type":"key","publicKey":"\#(Base64URL.encode(keys.publicKey.bytes))"}"#)
        }
    }

    /// The owning veileder in the call of `consultation`: welcomed, admitted
    /// at once, and on the first roster (just itself).
    func veileder(_ consultation: String) async throws -> Participant {
        let socket = try await socket(asVeileder: true)
        socket.send(#"{"type":"hello","v":2,"consultation":"\#(consultation)"}"#)
        let welcome = try await Self.expect("welcome", on: socket)
        _ = try await Self.expect("admitted", on: socket)
        _ = try await Self.expect("roster", on: socket)
        return Participant(socket: socket, participant: try Self.you(welcome), keys: .generate())
    }

    /// A deltaker through the link: welcomed, in the lobby. Returns its resume token.
    func deltaker(token: String) async throws -> (Participant, resume: String) {
        let socket = try await socket(asVeileder: false)
        socket.send(#"{"type":"hello","v":2,"token":"\#(token)"}"#)
        let welcome = try await Self.expect("welcome", on: socket)
        guard case .string(let resume)? = welcome["resume"] else { throw Failure(description: "welcome without resume") }
        _ = try await Self.expect("lobby", on: socket)
        return (Participant(socket: socket, participant: try Self.you(welcome), keys: .generate()), resume)
    }

    /// The veileder admits the one who knocked; returns when the deltaker is
    /// told (`admitted`) and both have the roster with two in the call.
    func admit(veileder: BenchSocket, deltaker: BenchSocket) async throws {
        let knock = try await Self.expect("knock", on: veileder)
        guard case .string(let participant)? = knock["participant"] else { throw Failure(description: "knock without participant") }
        veileder.send(#"{"type":"admit","participant":"\#(participant)"}"#)
        _ = try await Self.expect("admitted", on: deltaker)
        _ = try await Self.expectRoster(on: deltaker) { $0.count == 2 }
        _ = try await Self.expectRoster(on: veileder) { $0.count == 2 }
    }

    /// A consultation with its veileder and an admitted deltaker in the call,
    /// both with their device keys announced and each holding the other's:
    /// from here on either may signal or chat to the other.
    func pair(_ index: Int) async throws -> Pair {
        let (id, token) = try await createConsultation(title: "Benchmark \(index)")
        let veileder = try await veileder(id)
        let (deltaker, resume) = try await deltaker(token: token)
        try await admit(veileder: veileder.socket, deltaker: deltaker.socket)
        veileder.announceKey()
        deltaker.announceKey()
        for (me, other) in [(veileder, deltaker), (deltaker, veileder)] {
            let key = try await Self.expect("key", on: me.socket)
            guard key["keyId"] == .string(other.keyID) else { throw Failure(description: "a key that is not the peer's") }
        }
        return Pair(consultation: ConsultationID(rawValue: id), veileder: veileder, deltaker: deltaker, deltakerResume: resume)
    }

    struct Pair: Sendable {
        let consultation: ConsultationID
        let veileder: Participant
        let deltaker: Participant
        let deltakerResume: String
    }

    /// `welcome.you.participant`.
    static func you(_ welcome: Message) throws -> ParticipantID {
        guard case .object(let you)? = welcome["you"], case .string(let participant)? = you["participant"] else {
            throw Failure(description: "welcome without you.participant")
        }
        return ParticipantID(rawValue: participant)
    }

    /// Reads until a `roster` whose participants (`{participant, role, keyId}`) satisfy `accept`.
    static func expectRoster(on socket: BenchSocket, _ accept: ([[String: JSONValue]]) -> Bool) async throws -> [[String: JSONValue]] {
        while true {
            let roster = try await expect("roster", on: socket)
            guard case .array(let list)? = roster["participants"] else { throw Failure(description: "roster without participants") }
            let entries = list.compactMap { entry -> [String: JSONValue]? in
                if case .object(let object) = entry { return object } else { return nil }
            }
            if accept(entries) { return entries }
        }
    }

    /// Reads until a message of `type` arrives; `pong`, `roster`, relayed
    /// keys and the lobby on the way are skipped, an `error` fails.
    static func expect(_ type: String, on socket: BenchSocket, skipping: Set<String> = ["pong", "roster", "key", "lobby", "lobby-left"])
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
