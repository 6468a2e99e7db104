import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import SamromTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 14's deployment, for the `cluster` scenario: two `samrom serve`
/// processes, `samrom-a` and `samrom-b`, on one database of a PostgreSQL 15
/// of the bench's own, behind HAProxy with the repository's
/// `deploy/haproxy.cfg`, all on 127.0.0.1. Started with the launchers the
/// cluster tests use (SamromTestSupport: `PostgresServer`, `TestCertificate`,
/// `HAProxyServer`, `ChildProcess`), with the bench's `samrom` binary and the
/// bench's server settings (rate limits raised, as for the single instance).
final class BenchCluster: Sendable {
    /// `--home-lease` of both instances: the shortest the server allows.
    static let lease = 3
    static let instanceNames = ["samrom-a", "samrom-b"]

    let postgres: PostgresServer
    let database: String
    /// `--store` of both instances and of `samrom` commands.
    let store: String
    let directory: URL
    let certificate: TestCertificate
    let instances: [Instance]
    let haproxy: HAProxyServer

    struct Instance: Sendable {
        let name: String
        let child: ChildProcess
        let port: Int
        let dataDirectory: URL
    }

    /// Why the cluster cannot run here (PostgreSQL 15 or HAProxy missing), or nil.
    static var unavailable: String? {
        if !FileManager.default.isExecutableFile(atPath: PostgresServer.binDirectory.appendingPathComponent("initdb").path) {
            return "PostgreSQL 15 is not installed at \(PostgresServer.binDirectory.path) (sh scripts/install-deps.sh)"
        }
        if !FileManager.default.isExecutableFile(atPath: HAProxyServer.binary) {
            return "HAProxy is not installed at \(HAProxyServer.binary) (sh scripts/install-deps.sh)"
        }
        return nil
    }

    private init(
        postgres: PostgresServer, database: String, store: String, directory: URL, certificate: TestCertificate, instances: [Instance],
        haproxy: HAProxyServer
    ) {
        self.postgres = postgres
        self.database = database
        self.store = store
        self.directory = directory
        self.certificate = certificate
        self.instances = instances
        self.haproxy = haproxy
    }

    /// PostgreSQL, a database, the veileder account (`samrom user add
    /// --store`), both instances and HAProxy; returns once HAProxy has
    /// seen both instances healthy. `haproxyFiles` is the open-files limit
    /// HAProxy starts with (it derives its connection limit from it; each
    /// proxied WebSocket holds two).
    static func start(samromBinary: String, work: URL, haproxyFiles: Int, http: HTTPClient) async throws -> BenchCluster {
        let directory = work.appendingPathComponent("cluster")
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let postgres = try await PostgresServer.start()
        var started: [Instance] = []
        do {
            let database = "samrom_bench_cluster"
            let store = try await postgres.createDatabase(database)
            let certificate = try await TestCertificate.make(in: directory)
            let dataA = directory.appendingPathComponent("samrom-a"), dataB = directory.appendingPathComponent("samrom-b")
            // The account first, as an administrator would on samrom-a's host;
            // the keys it makes there are the ones both instances use.
            try await command(
                samromBinary,
                ["user", "add", "--username", BenchServers.username, "--role", "veileder", "--store", store, "--data-dir", dataA.path],
                input: BenchServers.password + "\n")
            try FileManager.default.createDirectory(at: dataB, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            for key in ["audit-signing.key", "second-factor.key"] {
                try FileManager.default.copyItem(at: dataA.appendingPathComponent(key), to: dataB.appendingPathComponent(key))
            }
            for (name, data) in zip(instanceNames, [dataA, dataB]) {
                started.append(try await serve(samromBinary, name: name, data: data, store: store, certificate: certificate, log: directory))
            }
            let haproxy = try await withOpenFilesLimit(haproxyFiles) {
                try await HAProxyServer.start(
                    a: "127.0.0.1:\(started[0].port)", b: "127.0.0.1:\(started[1].port)", certificate: certificate,
                    log: directory.appendingPathComponent("haproxy.log"))
            }
            let cluster = BenchCluster(
                postgres: postgres, database: database, store: store, directory: directory, certificate: certificate, instances: started,
                haproxy: haproxy)
            do {
                try await cluster.waitUntilBothServe(http: http)
            } catch {
                await cluster.stop()
                throw error
            }
            return cluster
        } catch {
            for instance in started { await instance.child.kill() }
            await postgres.stop()
            throw error
        }
    }

    /// Takes everything down; the instances still running get a second to
    /// end gracefully (the bench may have left clients connected).
    func stop() async {
        await haproxy.stop()
        for instance in instances where instance.child.isRunning { instance.child.signal(SIGTERM) }
        for instance in instances { await instance.child.stop(grace: .seconds(2)) }
        await postgres.stop()
    }

    func instance(_ name: String) throws -> Instance {
        guard let instance = instances.first(where: { $0.name == name }) else { throw BenchError("no instance \(name)") }
        return instance
    }

    /// Each call's home as the database has it: consultation id → instance.
    func homes() async throws -> [String: String] {
        let rows = try await postgres.psql("SELECT consultation_id || '|' || instance FROM call_home", database: database)
        var homes: [String: String] = [:]
        for line in rows.split(separator: "\n") {
            let parts = line.split(separator: "|")
            if parts.count == 2 { homes[String(parts[0])] = String(parts[1]) }
        }
        return homes
    }

    /// `/healthz` through HAProxy answered a few times in a row (HAProxy
    /// starts with its servers up; the round robin asks both).
    private func waitUntilBothServe(http: HTTPClient) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        var answered = 0
        while ContinuousClock.now < deadline, answered < 4 {
            var request = HTTPClientRequest(url: "https://127.0.0.1:\(haproxy.port)/healthz")
            request.method = .GET
            if let response = try? await http.execute(request, timeout: .seconds(5)),
                (try? await response.body.collect(upTo: 1 << 16)) != nil, response.status == .ok
            {
                answered += 1
            } else {
                answered = 0
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        guard answered >= 4 else { throw BenchError("HAProxy did not answer /healthz: \(haproxy.child.logTail(10))") }
    }

    /// `samrom serve` for the cluster: the bench's settings (as
    /// `BenchServers.samrom`) plus the store, the name, the lease, and
    /// HAProxy as the trusted proxy.
    private static func serve(
        _ binary: String, name: String, data: URL, store: String, certificate: TestCertificate, log: URL
    ) async throws -> Instance {
        var lastFailure = ""
        for _ in 0..<3 {
            let port = try ServerProcess.freePort()
            let child = try ChildProcess(
                binary,
                [
                    "serve", "--host", "127.0.0.1", "--port", "\(port)", "--data-dir", data.path, "--store", store,
                    "--instance-name", name, "--home-lease", "\(lease)", "--trusted-proxy", "127.0.0.1",
                    "--tls-cert", certificate.certificate, "--tls-key", certificate.key,
                    "--certs-dir", data.appendingPathComponent("none").path, "--log-level", "error",
                    "--message-rate", "1000000", "--message-burst", "1000000",
                    "--max-connections-per-address", "1000000", "--request-head-timeout", "60",
                ],
                log: log.appendingPathComponent("\(name).log"))
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline, child.isRunning {
                if ServerProcess.accepts(port: port) { return Instance(name: name, child: child, port: port, dataDirectory: data) }
                try await Task.sleep(for: .milliseconds(50))
            }
            lastFailure = child.logTail(20)
            await child.kill()
        }
        throw BenchError("\(name) did not start: \(lastFailure)")
    }

    /// Runs a `samrom` command to its end (`Command.run`: no thread held);
    /// what it printed, or a failure with it.
    @discardableResult
    static func command(_ binary: String, _ arguments: [String], input: String? = nil) async throws -> String {
        let run = try await Command.run(binary, arguments, input: input)
        let printed = run.output + run.error
        guard run.status == 0 else {
            throw BenchError("samrom \(arguments.prefix(2).joined(separator: " ")) exited with \(run.status): \(printed.suffix(800))")
        }
        return printed
    }

    /// Runs `body` (which starts a child) with this process's open-files
    /// limit raised to `files` if it is lower and may be raised (as root),
    /// then puts the limit back: the child keeps the raised one.
    private static func withOpenFilesLimit<T>(_ files: Int, _ body: () async throws -> T) async throws -> T {
        var saved = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved) == 0, saved.rlim_cur < rlim_t(files) else { return try await body() }
        var raised = rlimit(rlim_cur: rlim_t(files), rlim_max: max(saved.rlim_max, rlim_t(files)))
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) != 0 { return try await body() }
        defer { _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved) }
        return try await body()
    }

    /// The open-files limit HAProxy runs with (from /proc), 0 if unknown.
    var haproxyOpenFiles: Int {
        guard let limits = try? String(contentsOfFile: "/proc/\(haproxy.child.pid)/limits", encoding: .utf8),
            let line = limits.split(separator: "\n").first(where: { $0.hasPrefix("Max open files") })
        else { return 0 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).first ?? "") ?? 0
    }
}

/// CPU time and memory of a process of ours by its id, from /proc.
enum ProcStat {
    /// User plus system CPU seconds so far.
    static func cpuSeconds(_ pid: pid_t) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else {
            return 0
        }
        // Fields after the command name: state is field 3; utime 14, stime 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Resident memory now (VmRSS) and its peak (VmHWM), in bytes.
    static func memory(_ pid: pid_t) -> (rss: Int, peak: Int) {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return (0, 0) }
        func kilobytes(_ key: String) -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }) else { return 0 }
            return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
        }
        return (kilobytes("VmRSS"), kilobytes("VmHWM"))
    }

    /// VmHWM: the peak resident memory, in bytes.
    static func peakRss(_ pid: pid_t) -> Int { memory(pid).peak }
}
