import Foundation

#if canImport(Glibc)
    // kill, SIGKILL: coturn must be killed outright (see `stop()`).
    import Glibc
#endif

/// A real coturn for one test, on loopback, with TURN REST credentials
/// (`use-auth-secret`) as docs/coturn.md configures it; with a certificate it
/// also takes TLS (`turns:`) on `tlsPort`. `stop()` ends it (also on
/// `deinit`); call it in a `defer` so that a failing test leaves no relay behind.
public final class TurnServer: @unchecked Sendable {
    public static let executable = "/usr/bin/turnserver"
    public static var available: Bool { FileManager.default.isExecutableFile(atPath: executable) }

    public let port: Int
    /// Where coturn takes TLS when started with a certificate: `port + 1`.
    public var tlsPort: Int { port + 1 }
    public let relayPorts: ClosedRange<Int>
    public let certificate: TestCertificate?
    public let secret = "samrom-test-turn-secret-" + UUID().uuidString
    public let secretFile = FileManager.default.temporaryDirectory
        .appendingPathComponent("samrom-test-\(UUID().uuidString)").appendingPathExtension("turn-secret")
    private var process: Process?

    /// `turn:` URL for `ServerConfiguration.turnURLs`.
    public var url: String { "turn:127.0.0.1:\(port)?transport=udp" }
    /// TURN over TCP.
    public var tcpURL: String { "turn:127.0.0.1:\(port)?transport=tcp" }
    /// TURN over TLS (only with a certificate).
    public var tlsURL: String { "turns:127.0.0.1:\(tlsPort)?transport=tcp" }

    /// Starts coturn with `port` (and `port + 1` with a certificate) for TURN
    /// itself, UDP and TCP, and `relayPorts` for the allocations; returns
    /// once its ports are bound. Tests that run at once need distinct ones.
    public static func start(
        port: Int = 3478, relayPorts: ClosedRange<Int> = 49160...49200, certificate: TestCertificate? = nil
    ) async throws -> TurnServer {
        let server = try TurnServer(port: port, relayPorts: relayPorts, certificate: certificate)
        try await server.start()
        return server
    }

    private init(port: Int, relayPorts: ClosedRange<Int>, certificate: TestCertificate?) throws {
        self.port = port
        self.relayPorts = relayPorts
        self.certificate = certificate
        try Data((secret + "\n").utf8).write(to: secretFile)
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: secretFile)
    }

    /// A port below the ephemeral range (32768–60999) that nothing uses over
    /// UDP or TCP now, with the next one free too (for `tlsPort`).
    public static func unusedPort() -> Int {
        let used = (try? String(contentsOfFile: "/proc/net/udp", encoding: .utf8)) ?? ""
        let usedTCP = (try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8)) ?? ""
        func free(_ port: Int) -> Bool {
            let hex = ":" + String(format: "%04X", port) + " "
            return !used.contains(hex) && !usedTCP.contains(hex)
        }
        while true {
            let port = Int.random(in: 20000..<32000)
            if free(port), free(port + 1) { return port }
        }
    }

    private func start() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        var arguments = [
            "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", "--listening-port=\(port)",
            "--min-port=\(relayPorts.lowerBound)", "--max-port=\(relayPorts.upperBound)", "--use-auth-secret",
            "--static-auth-secret=\(secret)", "--realm=samrom.test", "--allow-loopback-peers", "--no-cli", "--no-dtls",
            "--fingerprint", "--log-file=stdout", "--simple-log",
        ]
        if let certificate {
            arguments += ["--tls-listening-port=\(tlsPort)", "--cert=\(certificate.certificate)", "--pkey=\(certificate.key)"]
        } else {
            arguments += ["--no-tls"]
        }
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        // Ready once its ports are bound: a few seconds alone, longer when
        // the whole suite runs in parallel on two cores.
        func listening(_ port: Int, _ table: String) -> Bool {
            let hex = ":" + String(format: "%04X", port) + " "
            return (try? String(contentsOfFile: table, encoding: .utf8))?.contains(hex) ?? false
        }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if listening(port, "/proc/net/udp"), listening(port, "/proc/net/tcp"),
                certificate == nil || listening(tlsPort, "/proc/net/tcp")
            {
                return
            }
            guard process.isRunning else { throw TestFailure("coturn exited at start (\(process.terminationStatus))") }
            // Not Thread.sleep: the test run's few threads are shared (`Command`).
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("coturn did not open port \(port)")
    }

    /// A relay that went away and came back: every allocation is lost, so
    /// relayed calls must restart ICE to get new ones.
    public func restart() async throws {
        stop()
        try await start()
    }

    public func stop() {
        guard let process else { return }
        if process.isRunning {
            // SIGKILL, not terminate(): a child of the test process inherits its
            // blocked signal mask, and coturn would never see SIGTERM.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        self.process = nil
    }
}
