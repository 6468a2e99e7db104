import Foundation
import Hummingbird
import Logging
import NIOSSL
import SamromCore
import SamromServer
import SamromStore
import SamromTestSupport
import ServiceLifecycle
import Sodium

/// A real Samrom server for one test: TLS on a random loopback port, a fresh
/// SQLite data directory (or a given one, to test restarts), a hand-moved clock.
final class LiveServer: Sendable {
    let app: SamromApp
    let port: Int
    let dataDirectory: URL
    let clock: TestClock
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("samrom-test-\(UUID().uuidString)")
    }

    static func start(
        dataDirectory: URL = temporaryDirectory(), clock: TestClock = TestClock(),
        _ configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> LiveServer {
        var configuration = ServerConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.dataDirectory = dataDirectory
        // A certificate from a test CA made by Certs/make-dev-certs.sh; clients trust that CA.
        configuration.tlsCertificatePath = TestCertificates.directory.appendingPathComponent("server.crt").path
        configuration.tlsKeyPath = TestCertificates.directory.appendingPathComponent("server.key").path
        configuration.developmentCertificateDirectory = dataDirectory.appendingPathComponent("no-dev-certs")
        configuration.webRoot = repositoryRoot.appendingPathComponent("Web")
        // Generous: the suite runs in parallel on two cores (the timeout has its own test).
        configuration.helloTimeout = .seconds(30)
        configure(&configuration)
        var logger = Logger(label: "samrom-test")
        logger.logLevel = ProcessInfo.processInfo.environment["SAMROM_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        let app = try await SamromApp(
            configuration: configuration, store: try await TestStore.make(for: dataDirectory, logger: logger), clock: clock.wallClock, logger: logger)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let application = try app.application { channel in
            continuation.yield(channel.localAddress?.port ?? 0)
            continuation.finish()
        }
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: application)], gracefulShutdownSignals: [], logger: logger))
        let task = Task { try await group.run() }
        var port = 0
        for await value in ports { port = value }
        guard port > 0 else { throw TestFailure("the server did not start") }
        return LiveServer(app: app, port: port, dataDirectory: dataDirectory, clock: clock, group: group, task: task)
    }

    private init(app: SamromApp, port: Int, dataDirectory: URL, clock: TestClock, group: ServiceGroup, task: Task<Void, any Error>) {
        self.app = app
        self.port = port
        self.dataDirectory = dataDirectory
        self.clock = clock
        self.group = group
        self.task = task
    }

    /// Graceful shutdown, as on SIGTERM.
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        await TestStore.close(app.store)
    }

    func removeData() {
        try? FileManager.default.removeItem(at: dataDirectory)
    }

    var baseURL: String { "https://127.0.0.1:\(port)" }

    /// Trusts the test CA only: real certificate and host name verification.
    var tlsConfiguration: TLSConfiguration { TestCertificates.clientConfiguration }

    @discardableResult
    func addUser(_ username: String, role: AccountRole, password: String = "correct horse battery") async throws -> Account {
        try await app.accounts.create(username: username, role: role, password: SecureBytes(Array(password.utf8)))
    }

    func auditEntries() async throws -> [AuditEntry] {
        try await app.store.auditEntries(from: 0, limit: 100_000)
    }
}

/// Runs `body` with a fresh server, always stopping it and removing its data.
func withServer<T>(
    clock: TestClock = TestClock(), _ configure: (inout ServerConfiguration) -> Void = { _ in },
    _ body: (LiveServer) async throws -> T
) async throws -> T {
    let server = try await LiveServer.start(clock: clock, configure)
    do {
        let result = try await body(server)
        await server.stop()
        server.removeData()
        return result
    } catch {
        await server.stop()
        server.removeData()
        throw error
    }
}

/// One development CA and server certificate for the whole test run, made by
/// the project's own `Certs/make-dev-certs.sh` into a temporary directory.
enum TestCertificates {
    static let directory: URL = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("samrom-test-certs-\(UUID().uuidString)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [LiveServer.repositoryRoot.appendingPathComponent("Certs/make-dev-certs.sh").path]
        var environment = ProcessInfo.processInfo.environment
        environment["SAMROM_CERTS_OUT"] = directory.path
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        try! process.run()
        process.waitUntilExit()
        precondition(process.terminationStatus == 0, "Certs/make-dev-certs.sh failed")
        return directory
    }()

    static var clientConfiguration: TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(directory.appendingPathComponent("ca.crt").path)
        return tls
    }
}

extension WSTestClient {
    /// Connects to `/ws` of a test server and waits for the upgrade; throws if it is refused.
    static func connect(_ server: LiveServer, cookie: String? = nil, origin: String? = nil) async throws -> WSTestClient {
        try await connect(port: server.port, tls: server.tlsConfiguration, cookie: cookie, origin: origin)
    }
}
