import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import NIOWebSocket
import SamromCore
import SamromTestSupport
import Sodium
import Testing

#if canImport(Glibc)
    import Glibc  // SIGTERM
#endif

/// Two `samrom serve` processes, `samrom-a` and `samrom-b`, on one database
/// of the suite's PostgreSQL, behind HAProxy with `deploy/haproxy.cfg`, all
/// on 127.0.0.1 with one self-signed certificate; a veileder account made
/// with `samrom user add --store`. Everything is stopped and deleted
/// afterwards, also when the test fails (set `SAMROM_CLUSTER_KEEP=1` to keep
/// the directory with the logs).
struct Cluster: Sendable {
    static let username = "kari.cluster"
    static let password = "et langt passord for klyngen"

    let postgres: PostgresServer
    let database: String
    /// `--store` of every instance and command.
    let store: String
    let root: URL
    let certificate: TestCertificate
    let a: SamromProcess.Instance
    let b: SamromProcess.Instance
    let haproxy: HAProxyServer
    let web: Web
    let lease: Int

    var tls: TLSConfiguration { certificate.tls }

    func instance(named name: String) throws -> SamromProcess.Instance {
        switch name {
        case "samrom-a": return a
        case "samrom-b": return b
        default: throw TestFailure("no instance named \(name)")
        }
    }

    func other(than name: String) throws -> (name: String, instance: SamromProcess.Instance) {
        switch name {
        case "samrom-a": return ("samrom-b", b)
        case "samrom-b": return ("samrom-a", a)
        default: throw TestFailure("no instance named \(name)")
        }
    }

    /// Runs SQL on the cluster's database (unaligned, no headers).
    func sql(_ query: String) async throws -> String {
        try await postgres.psql(query, database: database).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The instance holding the call's home in the database (nil: none, or released).
    func home(of consultation: String) async throws -> String? {
        let instance = try await sql("SELECT instance FROM call_home WHERE consultation_id = '\(consultation)'")
        return instance.isEmpty ? nil : instance
    }

    /// The veileder's session cookie, logged in at `port` (HAProxy's or an instance's).
    func login(port: Int) async throws -> String {
        let reply = try await web.send(
            port: port, .POST, "/api/session", json: #"{"username":"\#(Self.username)","password":"\#(Self.password)"}"#)
        guard reply.status == 204, let cookie = reply.cookie else {
            throw TestFailure("login on port \(port) answered \(reply.status): \(reply.body)")
        }
        return cookie
    }

    /// A new consultation, created at `port`: its id, the join link's token
    /// (its fragment) and route key (its `r`).
    func createConsultation(port: Int, cookie: String, title: String = "Klynge") async throws -> (id: String, token: String, route: String) {
        let reply = try await web.send(port: port, .POST, "/api/consultations", json: #"{"title":"\#(title)"}"#, cookie: cookie)
        guard reply.status == 201 else { throw TestFailure("creating a consultation answered \(reply.status): \(reply.body)") }
        let body = try reply.json()
        guard let id = body.string("id"), let joinURL = body.string("joinUrl"), let components = URLComponents(string: joinURL),
            let token = components.fragment, let route = components.queryItems?.first(where: { $0.name == "r" })?.value
        else {
            throw TestFailure("a join link without a route key or token: \(reply.body)")
        }
        return (id, token, route)
    }

    /// What the instances and HAProxy logged last, for a failure message.
    var logTails: String {
        ["samrom-a": a.child, "samrom-b": b.child, "haproxy": haproxy.child].sorted { $0.key < $1.key }.map {
            "--- \($0.key) (\($0.value.logFile.path)) ---\n\($0.value.logTail(30))"
        }.joined(separator: "\n")
    }

    /// Starts a cluster (PostgreSQL is the suite's) for `body` and takes it
    /// down afterwards, also when `body` throws.
    static func with<T: Sendable>(lease: Int = 3, _ body: (Cluster) async throws -> T) async throws -> T {
        let postgres = try ClusterPostgres.server()
        let started = ContinuousClock.now
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("samrom-cluster-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        let keep = ProcessInfo.processInfo.environment["SAMROM_CLUSTER_KEEP"] != nil
        let certificate: TestCertificate
        do {
            certificate = try await TestCertificate.make(in: root)
        } catch {
            try? FileManager.default.removeItem(at: root)
            throw error
        }
        let web = Web(tls: certificate.tls)
        var a: SamromProcess.Instance?, b: SamromProcess.Instance?, haproxy: HAProxyServer?
        func takeDown() async {
            // The client first: a server shutting down gracefully waits for its idle keep-alive connections.
            await web.shutdown()
            await haproxy?.stop()
            // Those still running shut down gracefully (SIGTERM), and cleanly.
            let running = [("samrom-a", a), ("samrom-b", b)].compactMap { name, instance in
                instance.flatMap { $0.isRunning ? (name, $0) : nil }
            }
            for (_, instance) in running { instance.child.signal(SIGTERM) }
            for (name, instance) in running {
                await instance.stop(grace: .seconds(5))
                if instance.child.status != 0 {
                    Issue.record("\(name) did not end cleanly on SIGTERM (wait status \(instance.child.status ?? -1)): \(instance.child.logTail(20))")
                }
            }
            if keep {
                print("cluster files kept in \(root.path)")
            } else {
                try? FileManager.default.removeItem(at: root)
            }
        }
        do {
            let database = "samrom_cluster_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
            let store = try await postgres.createDatabase(database)
            let dataA = root.appendingPathComponent("samrom-a").path, dataB = root.appendingPathComponent("samrom-b").path
            // The account first, as an administrator would on samrom-a's host:
            // the command signs its entry with the key it makes in samrom-a's
            // data directory, and the store records that key for the log.
            let added = try await SamromProcess.run(
                ["user", "add", "--username", username, "--role", "veileder", "--store", store, "--data-dir", dataA],
                input: password + "\n")
            if added.status != 0 {
                // Reported, and the cluster goes on if the account was made
                // nonetheless (a crash on the way out), so the rest is tested too.
                Issue.record("samrom user add --store exited with \(added.status): \(added.output) \(added.error.prefix(400))")
                let list = try await SamromProcess.run(["user", "list", "--store", store, "--data-dir", dataA])
                guard list.output.contains("\(username)\tveileder\tactive") else {
                    throw TestFailure("samrom user add --store made no account: \(list.output) \(list.error.prefix(400))")
                }
            }

            func arguments(_ name: String) -> [String] {
                [
                    "--store", store, "--instance-name", name, "--home-lease", "\(lease)",
                    "--tls-cert", certificate.certificate, "--tls-key", certificate.key,
                    // Behind HAProxy every client is 127.0.0.1.
                    "--max-connections-per-address", "100000",
                ]
            }
            a = try await SamromProcess.serve(dataDirectory: dataA, arguments: arguments("samrom-a"), trusting: certificate.certificate)
            // Instances on one store sign with one key, and seal TOTP secrets with one: samrom-a's.
            try FileManager.default.createDirectory(atPath: dataB, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            for key in ["audit-signing.key", "second-factor.key"] {
                try FileManager.default.copyItem(atPath: dataA + "/" + key, toPath: dataB + "/" + key)
            }
            b = try await SamromProcess.serve(dataDirectory: dataB, arguments: arguments("samrom-b"), trusting: certificate.certificate)
            haproxy = try await HAProxyServer.start(
                a: "127.0.0.1:\(a!.port)", b: "127.0.0.1:\(b!.port)", certificate: certificate, log: root.appendingPathComponent("haproxy.log"))
            let cluster = Cluster(
                postgres: postgres, database: database, store: store, root: root, certificate: certificate, a: a!, b: b!,
                haproxy: haproxy!, web: web, lease: lease)
            // Both instances healthy through HAProxy before anyone connects.
            for _ in 0..<4 { _ = try await web.send(port: haproxy!.port, .GET, "/healthz") }
            print("cluster up in \(ContinuousClock.now - started): haproxy :\(haproxy!.port), samrom-a :\(a!.port), samrom-b :\(b!.port)")
            do {
                let value = try await body(cluster)
                await takeDown()
                return value
            } catch {
                print("cluster test failed: \(error)\n\(cluster.logTails)")
                throw error
            }
        } catch {
            for (name, child) in [("samrom-a", a?.child), ("samrom-b", b?.child), ("haproxy", haproxy?.child)] {
                if let child { print("--- \(name) ---\n\(child.logTail(20))") }
            }
            await takeDown()
            throw error
        }
    }
}

/// HTTPS requests to the cluster (HAProxy or one instance) over one client
/// that trusts the cluster's certificate; up to 64 connections per port.
final class Web: Sendable {
    let client: HTTPClient

    init(tls: TLSConfiguration) {
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    struct Reply: Sendable {
        let status: Int
        let headers: HTTPHeaders
        let body: String
        /// `samrom_session=…` from the `Set-Cookie` of a login.
        var cookie: String? { headers.first(name: "Set-Cookie")?.split(separator: ";").first.map(String.init) }

        func json() throws -> [String: JSONValue] {
            guard case .object(let object) = try JSONDecoder().decode(JSONValue.self, from: Data(body.utf8)) else {
                throw TestFailure("not a JSON object: \(body)")
            }
            return object
        }
    }

    func send(
        port: Int, _ method: HTTPMethod, _ path: String, json body: String? = nil, cookie: String? = nil,
        timeout: TimeAmount = .seconds(30)
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: "https://localhost:\(port)\(path)")
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        if let cookie { request.headers.add(name: "Cookie", value: cookie) }
        let response = try await client.execute(request, timeout: timeout)
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        return Reply(status: Int(response.status.code), headers: response.headers, body: text)
    }

    func shutdown() async { try? await client.shutdown() }
}

/// One PostgreSQL 15 for the whole suite (`@Suite(.clusterPostgres)`); each
/// cluster takes a fresh database of it.
struct ClusterPostgres: SuiteTrait, TestScoping {
    @TaskLocal static var current: PostgresServer?

    static func server() throws -> PostgresServer {
        try #require(current, "the suite needs the .clusterPostgres trait")
    }

    func scopeProvider(for test: Test, testCase: Test.Case?) -> ClusterPostgres? {
        test.isSuite ? self : nil
    }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        try await PostgresServer.withServer { server in
            try await Self.$current.withValue(server) { try await function() }
        }
    }
}

extension Trait where Self == ClusterPostgres {
    static var clusterPostgres: ClusterPostgres { ClusterPostgres() }
}

// MARK: Speaking the protocol through the cluster

extension WSTestClient.Message {
    var type: String { string("type") ?? "" }

    func int(_ key: String) -> Int? {
        if case .int(let value)? = self[key] { return Int(value) }
        return nil
    }
}

/// A `hello` answered with neither `welcome` nor `moved` (an error, say).
struct Refused: Error, CustomStringConvertible {
    let description: String
}

/// What a `hello` got: the call (`welcome` and the socket), or `moved`.
enum HelloAnswer: Sendable {
    case welcome(WSTestClient, WSTestClient.Message)
    case moved(WSTestClient.Message)
}

enum Signalling {
    /// Opens `/ws?r=ROUTE[&i=INSTANCE]` at `port`, sends `hello` and returns
    /// what came first: `welcome` (the socket stays open) or `moved` (the
    /// server closed it with 1000). Anything else is a failure.
    static func hello(
        _ hello: WSTestClient.Message, port: Int, tls: TLSConfiguration, route: String, instance: String? = nil, cookie: String? = nil
    ) async throws -> HelloAnswer {
        let path = "/ws?r=\(route)" + (instance.map { "&i=\($0)" } ?? "")
        let socket = try await WSTestClient.connect(port: port, tls: tls, cookie: cookie, path: path)
        var frame = hello
        frame["type"] = .string("hello")
        frame["v"] = .int(2)
        socket.send(frame)
        let first = try await socket.next()
        switch first.type {
        case "welcome":
            return .welcome(socket, first)
        case "moved":
            let code = try await socket.closeCode(timeout: .seconds(5))
            guard code == .normalClosure else { throw TestFailure("moved, then closed with \(String(describing: code)), not 1000") }
            return .moved(first)
        default:
            socket.close()
            throw Refused(description: "hello at \(path) answered \(first)")
        }
    }

    /// Like `hello`, but follows `moved` (after its `retryAfterMs`, with
    /// `&i=`) and retries a refused upgrade (HAProxy without a server for a
    /// moment) until `welcome`, within `deadline`. Returns the socket, the
    /// `welcome`, the `moved` answers passed on the way and a line for each
    /// attempt (when, what).
    static func helloFollowingMoves(
        _ hello: WSTestClient.Message, port: Int, tls: TLSConfiguration, route: String, cookie: String? = nil,
        deadline: ContinuousClock.Instant
    ) async throws -> (WSTestClient, WSTestClient.Message, moves: [WSTestClient.Message], attempts: [String]) {
        var instance: String?
        var moves: [WSTestClient.Message] = []
        var failures: [String] = []
        var attempts: [String] = []
        let started = ContinuousClock.now
        func at() -> String {
            let elapsed = ContinuousClock.now - started
            return String(format: "%.2f s", Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        while ContinuousClock.now < deadline {
            do {
                switch try await Self.hello(hello, port: port, tls: tls, route: route, instance: instance, cookie: cookie) {
                case .welcome(let socket, let welcome):
                    attempts.append("\(at()): welcome (i=\(instance ?? "-"))")
                    return (socket, welcome, moves, attempts)
                case .moved(let moved):
                    attempts.append("\(at()): moved to \(moved.string("instance") ?? "?"), retryAfterMs \(moved.int("retryAfterMs") ?? -1)")
                    moves.append(moved)
                    #expect(moved.string("route") == route, "moved names another route: \(moved)")
                    instance = moved.string("instance")
                    let wait = moved.int("retryAfterMs") ?? 0
                    #expect((0...60_000).contains(wait), "retryAfterMs out of range: \(moved)")
                    try await Task.sleep(for: .milliseconds(wait))
                }
            } catch let refused as Refused {
                throw refused
            } catch {
                // The socket failed (the upgrade refused, the connection cut): try again shortly.
                attempts.append("\(at()): \(error)")
                failures.append("\(error)")
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        throw TestFailure("no welcome before the deadline; moved \(moves.count) times; failures: \(failures.suffix(5))")
    }
}
