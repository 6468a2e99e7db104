import Foundation
import NIOSSL
import Synchronization

#if canImport(Glibc)
    // posix_spawn, waitpid, kill: the long-lived children are our own.
    import Glibc
#endif

/// The built `samrom` binary, run as an administrator would run it: one
/// command, or `serve` as a separate process (to SIGKILL it, say).
public enum SamromProcess {
    /// `samrom`, built next to this test bundle.
    public static let binary: URL = {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("samrom")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        fatalError("the samrom binary was not built next to the tests")
    }()

    public struct Run: Sendable {
        public let status: Int32
        public let output: String
        public let error: String
    }

    /// A fresh data directory for `body`, removed afterwards with the log
    /// `serve` writes beside it.
    public static func withDataDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("samrom-cli-\(UUID().uuidString)")
        defer {
            try? FileManager.default.removeItem(at: directory)
            try? FileManager.default.removeItem(atPath: directory.path + ".log")
        }
        return try await body(directory.path)
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A long-lived program of the tests' own (a `samrom serve`, HAProxy): a
/// direct child of the test process, its standard output and error in a log
/// file, reaped here (`waitpid`) and never left behind: a watchdog kills it
/// within a second if the test process dies first.
///
/// Not a Foundation `Process`: Foundation learns that a child ended when a
/// socket the child inherited closes, and a long-lived program that inherited
/// another `Process`'s socket (started at the wrong moment) would hide that
/// end. So the program starts through a bash that closes every descriptor
/// but 0–2 and then `exec`s it (same process id). The loop's `2>/dev/null`
/// stays in force after it (bash's saved copy of standard error is closed
/// with the rest): hence `exec 2>&1`, standard error into the log again.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    /// What it printed, standard output and error together.
    public let logFile: URL
    public let name: String
    private let watchdog: pid_t
    private let exitStatus = Mutex<Int32?>(nil)

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Starts `program` with `arguments` and the test process's environment
    /// plus `environment`.
    public init(_ program: String, _ arguments: [String], environment: [String: String] = [:], log: URL) throws {
        name = URL(fileURLWithPath: program).lastPathComponent
        logFile = log
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let script = Self.closeInherited + #"""
            exec 2>&1 "$@"
            """#
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        pid = try Self.spawn(
            "/bin/bash", ["-c", script, name, program] + arguments, environment: merged, log: log.path)
        // If this process dies without stopping the child, the watchdog does.
        // It lives as long as the child, so it too must let go of every
        // descriptor it inherited: holding a Foundation `Process`'s socket, it
        // hid that process's end, and a test waiting for it hung for good
        // (seen on a `make test` run: a reaped-never `openssl` under it).
        let guardScript = Self.closeInherited + "while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done; kill -KILL \(pid) 2>/dev/null"
        do {
            watchdog = try Self.spawn(
                "/bin/bash", ["-c", guardScript], environment: ProcessInfo.processInfo.environment, log: "/dev/null")
        } catch {
            send(SIGKILL, to: pid)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
            throw error
        }
    }

    /// Bash that closes every descriptor but 0–2 it inherited (bash, not
    /// sh: dash cannot name a descriptor above 9 in a redirection).
    private static let closeInherited = #"""
        for fd in /proc/$$/fd/*; do n=${fd##*/}; if [ "$n" -gt 2 ]; then eval "exec $n>&-"; fi; done 2>/dev/null

        """#

    private static func spawn(
        _ program: String, _ arguments: [String], environment: [String: String], log: String
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group (a Ctrl-C of the test run is the watchdog's
        // business), no blocked signals, and the default action for the
        // signals the test process ignores or handles (SIGPIPE, above all).
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, program, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw Failure(description: "cannot start \(program): \(String(cString: strerror(result)))")
        }
        return pid
    }

    /// What it has printed so far.
    public var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// The last `lines` lines of the log, for failure messages.
    public func logTail(_ lines: Int = 40) -> String {
        log.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// Its wait status once it has ended (and been reaped), else nil.
    public var status: Int32? {
        exitStatus.withLock { known in
            if let known { return known }
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid {
                known = status
                send(SIGKILL, to: watchdog)
                var ignored: Int32 = 0
                _ = waitpid(watchdog, &ignored, 0)
            } else if reaped < 0 && errno == ECHILD {
                known = -1
            }
            return known
        }
    }

    public var isRunning: Bool { status == nil }

    /// How it ended, once it has: its exit code, or the signal that killed it.
    public enum End: Equatable, Sendable {
        case exited(Int32)
        case signalled(Int32)

        /// From a wait status (`WIFSIGNALED`/`WTERMSIG`, which Swift does not import).
        init(waitStatus: Int32) {
            let signal = waitStatus & 0x7f
            self = signal == 0 ? .exited((waitStatus >> 8) & 0xff) : .signalled(signal)
        }
    }

    /// How it ended, waiting up to `timeout`; nil if it still runs.
    public func end(timeout: Duration = .seconds(30)) async -> End? {
        await waitForExit(timeout: timeout).map(End.init(waitStatus:))
    }

    /// Sends `signal` if it still runs.
    public func signal(_ signal: Int32) {
        if isRunning { send(signal, to: pid) }
    }

    /// Waits until it has ended; its wait status, or nil after `timeout`.
    @discardableResult
    public func waitForExit(timeout: Duration = .seconds(30)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status { return status }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return status
    }

    /// SIGKILL, and waits until it is gone.
    public func kill() async {
        signal(SIGKILL)
        await waitForExit()
    }

    /// SIGTERM, and SIGKILL if it has not ended after `grace`.
    public func stop(grace: Duration = .seconds(10)) async {
        signal(SIGTERM)
        if await waitForExit(timeout: grace) == nil { await kill() }
    }
}

/// `kill(2)`, under another name: `ChildProcess.kill()` hides the C function inside the class.
private func send(_ signal: Int32, to pid: pid_t) {
    _ = kill(pid, signal)
}

extension SamromProcess {
    /// A `samrom serve` process started with `serve(…)`.
    public final class Instance: Sendable {
        public let child: ChildProcess
        public let port: Int
        public let dataDirectory: String
        /// Trusts the server's certificate.
        public let tls: TLSConfiguration

        init(child: ChildProcess, port: Int, dataDirectory: String, tls: TLSConfiguration) {
            self.child = child
            self.port = port
            self.dataDirectory = dataDirectory
            self.tls = tls
        }

        /// What it logged (standard output and error).
        public var log: String { child.log }
        public var isRunning: Bool { child.isRunning }
        /// SIGKILL: no graceful shutdown, no last checkpoint, leases left to run out.
        public func kill() async { await child.kill() }
        /// SIGTERM (a graceful shutdown), SIGKILL after `grace`.
        public func stop(grace: Duration = .seconds(10)) async { await child.stop(grace: grace) }
        /// SIGTERM without waiting for the end: for a `defer`, which cannot await.
        public func terminate() { child.signal(SIGTERM) }
    }

    /// `samrom serve` on a free port of 127.0.0.1 with `arguments` added (e.g.
    /// `--store`, `--instance-name`, `--tls-cert`/`--tls-key`), its output in
    /// `log` (default: next to the data directory, `DATA.log`). `trusting` is
    /// the certificate clients trust (`--tls-cert`'s); without it the
    /// self-signed one the server makes in its data directory.
    public static func serve(
        dataDirectory: String, arguments: [String] = [], trusting certificate: String? = nil, log: URL? = nil,
        logLevel: String = "info", startTimeout: Duration = .seconds(60)
    ) async throws -> Instance {
        let logFile = log ?? URL(fileURLWithPath: dataDirectory + ".log")
        let child = try ChildProcess(
            binary.path,
            ["serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDirectory, "--certs-dir", dataDirectory + "/none",
             "--log-level", logLevel] + arguments,
            log: logFile)
        let deadline = ContinuousClock.now + startTimeout
        while ContinuousClock.now < deadline {
            let text = child.log
            if let line = text.split(separator: "\n").first(where: { $0.contains("Samrom is running at") }),
                let port = line.split(separator: ":").last?.split(separator: "/").first.flatMap({ Int($0) })
            {
                var tls = TLSConfiguration.makeClientConfiguration()
                tls.trustRoots = .file(certificate ?? dataDirectory + "/tls/self-signed.crt")
                return Instance(child: child, port: port, dataDirectory: dataDirectory, tls: tls)
            }
            if !child.isRunning {
                throw TestFailure("samrom serve \(arguments.joined(separator: " ")) ended before it ran: \(child.logTail())")
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        await child.kill()
        throw TestFailure("samrom serve did not start within \(startTimeout): \(child.logTail())")
    }

    /// One `samrom` command run to its end (`Command.run`: no thread held while it runs).
    public static func run(_ arguments: [String], input: String? = nil) async throws -> Run {
        let result = try await Command.run(binary.path, arguments, input: input)
        return Run(status: result.status, output: result.output, error: result.error)
    }
}
