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

    /// `POST /api/consultations`: its id, the join token from the link's
    /// fragment, and the call's route key (the link's `?r=`; only with
    /// several instances on one store, nil otherwise).
    func createConsultation(title: String) async throws -> (id: String, token: String, route: String?) {
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
        let route = URLComponents(string: String(link[..<hash]))?.queryItems?.first { $0.name == "r" }?.value
        return (id, String(link[link.index(after: hash)...]), route)
    }

    /// `/ws`, or `/ws?r=ROUTE[&i=INSTANCE]` for a call with a route key (behind a load balancer).
    func socket(asVeileder: Bool, route: String? = nil, instance: String? = nil) async throws -> BenchSocket {
        var headers = HTTPFields()
        if asVeileder { headers[.cookie] = cookie }
        var path = "/ws"
        if let route { path += "?r=\(route)" + (instance.map { "&i=\($0)" } ?? "") }
        return try await BenchSocket.connect("wss://127.0.0.1:\(port)\(path)", headers: headers, tls: tls, logger: logger)
    }

    /// What it took to get a `welcome`: `moved` answers followed, and
    /// connections that failed or closed before an answer (tried again).
    struct HelloTrace: Sendable {
        var moves = 0
        var retries = 0
    }

    /// Opens a socket for the call of `route`, sends `hello` (a complete
    /// frame) and returns the socket with its `welcome`. A `moved` answer is
    /// followed as the browser client follows it: the same hello again on
    /// `/ws?r=ROUTE&i=INSTANCE` after `retryAfterMs`. A connection that fails
    /// or closes before answering (the load balancer without a live server
    /// for a moment) is tried again after 200–300 ms, until `deadline`. An
    /// `error` answer fails at once.
    func hello(_ frame: String, asVeileder: Bool, route: String?, deadline: ContinuousClock.Instant? = nil)
        async throws -> (BenchSocket, Message, HelloTrace)
    {
        let deadline = deadline ?? .now + .seconds(60)
        var trace = HelloTrace()
        var instance: String?
        var lastFailure = ""
        while ContinuousClock.now < deadline {
            let socket: BenchSocket
            do {
                socket = try await self.socket(asVeileder: asVeileder, route: route, instance: instance)
            } catch {
                lastFailure = "\(error)"
                trace.retries += 1
                try await Task.sleep(for: .milliseconds(200 + Int.random(in: 0..<100)))
                continue
            }
            socket.send(frame)
            guard let first = try await Self.first(on: socket), case .string(let type)? = first["type"] else {
                lastFailure = "closed before answering hello"
                socket.close()
                trace.retries += 1
                try await Task.sleep(for: .milliseconds(200 + Int.random(in: 0..<100)))
                continue
            }
            switch type {
            case "welcome":
                return (socket, first, trace)
            case "moved":
                socket.close()
                guard case .string(let home)? = first["instance"] else { throw Failure(description: "moved without instance") }
                trace.moves += 1
                instance = home
                if case .int(let wait)? = first["retryAfterMs"], wait > 0 {
                    try await Task.sleep(for: .milliseconds(min(wait, 60_000)))
                }
            case "error":
                socket.close()
                throw Failure(description: "hello answered error \(first["code"] ?? .null)")
            default:
                socket.close()
                throw Failure(description: "hello answered \(type)")
            }
        }
        throw Failure(description: "no welcome before the deadline (\(trace.moves) moves, \(trace.retries) retries; last: \(lastFailure))")
    }

    /// The first message other than `pong`; nil when the connection ends first.
    private static func first(on socket: BenchSocket) async throws -> Message? {
        while let text = await socket.nextText() {
            guard case .object(let message) = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else {
                throw Failure(description: "not a protocol message")
            }
            if message["type"] == .string("pong") { continue }
            return message
        }
        return nil
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
    /// at once, and on the first roster (just itself). Returns its resume token.
    func veileder(_ consultation: String, route: String? = nil) async throws -> (Participant, resume: String) {
        let (socket, welcome, _) = try await hello(
            #"{"type":"hello","v":2,"consultation":"\#(consultation)"}"#, asVeileder: true, route: route)
        guard case .string(let resume)? = welcome["resume"] else { throw Failure(description: "welcome without resume") }
        _ = try await Self.expect("admitted", on: socket)
        _ = try await Self.expect("roster", on: socket)
        return (Participant(socket: socket, participant: try Self.you(welcome), keys: .generate()), resume)
    }

    /// A deltaker through the link: welcomed, in the lobby. Returns its resume token.
    func deltaker(token: String, route: String? = nil) async throws -> (Participant, resume: String) {
        let (socket, welcome, _) = try await hello(#"{"type":"hello","v":2,"token":"\#(token)"}"#, asVeileder: false, route: route)
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
        let (id, token, route) = try await createConsultation(title: "Benchmark \(index)")
        let (veileder, veilederResume) = try await veileder(id, route: route)
        let (deltaker, resume) = try await deltaker(token: token, route: route)
        try await admit(veileder: veileder.socket, deltaker: deltaker.socket)
        veileder.announceKey()
        deltaker.announceKey()
        for (me, other) in [(veileder, deltaker), (deltaker, veileder)] {
            let key = try await Self.expect("key", on: me.socket)
            guard key["keyId"] == .string(other.keyID) else { throw Failure(description: "a key that is not the peer's") }
        }
        return Pair(
            consultation: ConsultationID(rawValue: id), route: route, veileder: veileder, deltaker: deltaker,
            veilederResume: veilederResume, deltakerResume: resume)
    }

    struct Pair: Sendable {
        let consultation: ConsultationID
        /// The call's route key (`/ws?r=`), with several instances.
        let route: String?
        let veileder: Participant
        let deltaker: Participant
        let veilederResume: String
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
