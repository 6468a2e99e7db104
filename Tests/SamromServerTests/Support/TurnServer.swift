import Foundation
import SamromTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A real coturn for one test, on loopback inside the test's network
/// namespace, with TURN REST credentials (`use-auth-secret`) as
/// docs/coturn.md configures it, minus TLS. `stop()` ends it (also on
/// `deinit`); call it in a `defer` so that a failing test leaves no relay behind.
final class TurnServer: @unchecked Sendable {
    static let executable = "/usr/bin/turnserver"
    static var available: Bool { FileManager.default.isExecutableFile(atPath: executable) }

    let port: Int
    let secret = "samrom-test-turn-secret-" + UUID().uuidString
    let secretFile = LiveServer.temporaryDirectory().appendingPathExtension("turn-secret")
    private var process: Process?

    /// `turn:` URL for `ServerConfiguration.turnURLs`.
    var url: String { "turn:127.0.0.1:\(port)?transport=udp" }

    init(port: Int = 3478) throws {
        self.port = port
        try Data((secret + "\n").utf8).write(to: secretFile)
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: secretFile)
    }

    private func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = [
            "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", "--listening-port=\(port)",
            "--min-port=49160", "--max-port=49200", "--use-auth-secret", "--static-auth-secret=\(secret)",
            "--realm=samrom.test", "--allow-loopback-peers", "--no-cli", "--no-tls", "--no-dtls", "--fingerprint",
            "--log-file=stdout", "--simple-log",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        // Ready once its UDP port is bound (at most a few seconds).
        let hexPort = ":" + String(format: "%04X", port) + " "
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            if let table = try? String(contentsOfFile: "/proc/net/udp", encoding: .utf8), table.contains(hexPort) { return }
            guard process.isRunning else { throw TestFailure("coturn exited at start (\(process.terminationStatus))") }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw TestFailure("coturn did not open UDP port \(port)")
    }

    /// A relay that went away and came back: every allocation is lost, so
    /// relayed calls must restart ICE to get new ones.
    func restart() throws {
        stop()
        try start()
    }

    func stop() {
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
