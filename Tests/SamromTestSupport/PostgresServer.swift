import Foundation

#if canImport(Glibc)
    // getuid, getpwnam, chown and a socket for a free port: Foundation has
    // none of them on Linux.
    import Glibc
#endif

/// A PostgreSQL 15 cluster of the tests' own: made with `initdb` in a fresh
/// temporary directory, listening on a free port of 127.0.0.1 only (no Unix
/// socket), trust authentication for loopback and nothing else, fsync on.
/// One is started per test suite; each test takes a fresh database of it
/// (`createDatabase`). `stop()` shuts it down and deletes the directory; a
/// watchdog does the same within a second if the test process dies first.
///
/// PostgreSQL refuses to run as root: as root (CI, the machine here) its
/// programs run as the `postgres` system user, which Debian's package makes,
/// through `runuser`, and the directory is that user's.
public final class PostgresServer: Sendable {
    public let port: Int
    public let directory: URL
    /// The superuser `initdb` made, who owns every database here.
    public let superuser = "postgres"
    /// The one role that must give a password (scram-sha-256); the test makes it.
    public static let passwordRole = "samrom_password"
    private let runAs: String?
    /// The watchdog's process id (a `Process` is not Sendable; its id is).
    private let watchdog: Int32

    /// Debian's PostgreSQL 15 (`scripts/install-deps.sh` installs it);
    /// `SAMROM_POSTGRES_BIN` names another directory of its programs.
    public static var binDirectory: URL {
        URL(fileURLWithPath: ProcessInfo.processInfo.environment["SAMROM_POSTGRES_BIN"] ?? "/usr/lib/postgresql/15/bin")
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Makes and starts a cluster. About a second: `initdb` is most of it.
    public static func start() async throws -> PostgresServer {
        let bin = binDirectory
        guard FileManager.default.isExecutableFile(atPath: bin.appendingPathComponent("initdb").path) else {
            throw Failure(description: "PostgreSQL 15 is not installed at \(bin.path): run `sh scripts/install-deps.sh`")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("samrom-pg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        var runAs: String?
        do {
            if getuid() == 0 {
                runAs = "postgres"
                guard let user = getpwnam("postgres") else {
                    throw Failure(description: "running as root, and there is no `postgres` user to run PostgreSQL as")
                }
                guard chown(directory.path, user.pointee.pw_uid, user.pointee.pw_gid) == 0 else {
                    throw Failure(description: "cannot give \(directory.path) to the postgres user (errno \(errno))")
                }
            }
            let data = directory.appendingPathComponent("data")
            // --no-sync: initdb's own files need not reach the disk (they are
            // thrown away after the run); the server itself runs with fsync on.
            try await run(
                bin.appendingPathComponent("initdb"),
                ["-D", data.path, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"],
                as: runAs, in: directory)
            // One role logs in with a password for real (the tests of
            // `--store-password-file`); everyone else is trusted on loopback.
            try Data("host all \(passwordRole) 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 trust\n".utf8)
                .write(to: data.appendingPathComponent("pg_hba.conf"))
            let settings = """

                # samrom tests
                listen_addresses = '127.0.0.1'
                unix_socket_directories = ''
                fsync = on
                synchronous_commit = on
                full_page_writes = on
                max_connections = 400
                shared_buffers = 64MB
                log_min_messages = warning

                """
            let conf = try FileHandle(forWritingTo: data.appendingPathComponent("postgresql.conf"))
            try conf.seekToEnd()
            try conf.write(contentsOf: Data(settings.utf8))
            try conf.close()

            // A free port is free only until someone takes it: try again on another.
            var lastError: (any Error)?
            for attempt in 0..<5 {
                let port = try freePort()
                let log = directory.appendingPathComponent("server-\(attempt).log")
                do {
                    try await detach(bin.appendingPathComponent("postgres"), ["-D", data.path, "-p", "\(port)"], as: runAs, log: log, in: directory)
                    try await waitUntilReady(port: port, log: log)
                    return try await PostgresServer(port: port, directory: directory, runAs: runAs)
                } catch {
                    lastError = error
                }
            }
            throw lastError ?? Failure(description: "PostgreSQL did not start")
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    private init(port: Int, directory: URL, runAs: String?) async throws {
        self.port = port
        self.directory = directory
        self.runAs = runAs
        // If this process dies without stopping the cluster, the watchdog
        // stops it (immediate shutdown) and deletes its directory.
        let pidFile = directory.appendingPathComponent("data/postmaster.pid").path
        let script = """
            while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done
            if [ -f '\(pidFile)' ]; then kill -QUIT "$(head -n 1 '\(pidFile)')" 2>/dev/null; sleep 1; fi
            rm -rf '\(directory.path)'
            """
        watchdog = try await Self.detach(
            URL(fileURLWithPath: "/bin/sh"), ["-c", script], as: nil, log: URL(fileURLWithPath: "/dev/null"), in: directory)
    }

    /// A new, empty database; returns its URL (`postgres://postgres@127.0.0.1:PORT/NAME`).
    public func createDatabase(_ name: String = "samrom_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))") async throws -> String {
        try await psql("CREATE DATABASE \"\(name)\"")
        return url(database: name)
    }

    public func url(database: String) -> String {
        "postgres://\(superuser)@127.0.0.1:\(port)/\(database)"
    }

    /// Runs SQL with `psql` (as the superuser, over TCP) and returns what it printed, unaligned and without headers.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") async throws -> String {
        try await Self.run(
            Self.binDirectory.appendingPathComponent("psql"),
            ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", "\(port)", "-U", superuser, "-d", database, "-c", sql],
            as: nil, in: directory)
    }

    /// Shuts the server down at once and deletes its directory.
    public func stop() async {
        _ = try? await Self.run(
            Self.binDirectory.appendingPathComponent("pg_ctl"),
            ["-D", directory.appendingPathComponent("data").path, "-m", "immediate", "-w", "stop"],
            as: runAs, in: directory)
        kill(watchdog, SIGTERM)
        try? FileManager.default.removeItem(at: directory)
    }

    /// Starts a cluster for `body` and stops it afterwards, also when `body` throws.
    public static func withServer<T>(_ body: (PostgresServer) async throws -> T) async throws -> T {
        let server = try await start()
        do {
            let value = try await body(server)
            await server.stop()
            return value
        } catch {
            await server.stop()
            throw error
        }
    }

    /// Starts a program that outlives the call (the server, the watchdog)
    /// and returns its process id. Not as a `Process` of its own: Foundation
    /// learns that a child ended when a socket the child inherited closes,
    /// and a long-lived program holding one of those (its own or, started at
    /// the wrong moment, another `Process`'s) would hide that end. So a
    /// short-lived bash closes every descriptor but 0–2 and starts the
    /// program in the background, detached, and exits.
    private static func detach(_ program: URL, _ arguments: [String], as user: String?, log: URL, in directory: URL) async throws -> Int32 {
        let command = (user.map { ["/usr/sbin/runuser", "-u", $0, "--"] } ?? []) + [program.path] + arguments
        let script = #"""
            for fd in /proc/$$/fd/*; do n=${fd##*/}; if [ "$n" -gt 2 ]; then eval "exec $n>&-"; fi; done 2>/dev/null
            log=$1; shift
            setsid "$@" </dev/null >>"$log" 2>&1 &
            echo $!
            """#
        let output = try await run(URL(fileURLWithPath: "/bin/bash"), ["-c", script, "detach", log.path] + command, as: nil, in: directory)
        guard let pid = Int32(output.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw Failure(description: "could not start \(program.lastPathComponent): \(output)")
        }
        return pid
    }

    /// Waits until the server accepts connections (`pg_isready`), or fails
    /// with its log if it stopped (its port taken, say) or took 30 s.
    private static func waitUntilReady(port: Int, log: URL) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if (try? await run(
                binDirectory.appendingPathComponent("pg_isready"), ["-q", "-h", "127.0.0.1", "-p", "\(port)", "-t", "1"],
                as: nil, in: FileManager.default.temporaryDirectory)) != nil
            {
                return
            }
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            // pg_isready knocking while the server starts makes it log
            // "FATAL: the database system is starting up": not a failure.
            let fatal = text.split(separator: "\n").contains {
                ($0.contains("FATAL") || $0.contains("PANIC")) && !$0.contains("the database system is starting up")
            }
            if fatal {
                throw Failure(description: "PostgreSQL did not start on port \(port): \(text)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw Failure(description: "PostgreSQL did not accept connections on port \(port) within 30 s")
    }

    /// Runs a program to its end (`Command.run`: no thread held), as `user`
    /// if given, in `directory`; what it printed.
    @discardableResult
    private static func run(_ program: URL, _ arguments: [String], as user: String?, in directory: URL) async throws -> String {
        let (executable, fullArguments) =
            user.map { ("/usr/sbin/runuser", ["-u", $0, "--", program.path] + arguments) } ?? (program.path, arguments)
        let run = try await Command.run(executable, fullArguments, in: directory)
        let text = run.output + run.error
        guard run.status == 0 else {
            throw Failure(description: "\(program.lastPathComponent) \(arguments.joined(separator: " ")) exited with \(run.status): \(text)")
        }
        return text
    }

    /// A port of 127.0.0.1 free right now: the kernel's choice for port 0.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed (errno \(errno))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
            }
        }
        guard bound else { throw Failure(description: "cannot bind a port of 127.0.0.1 (errno \(errno))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
