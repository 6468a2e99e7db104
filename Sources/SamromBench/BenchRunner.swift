import AsyncHTTPClient
import Foundation
import Logging
import NIOSSL

/// Runs every scenario of a profile against fresh servers, one at a time
/// (the machine has two cores; nothing else of ours runs meanwhile).
public struct BenchRunner: Sendable {
    public var profile: BenchProfile
    public var samromBinary: String
    public var benchBinary: String
    public var saltyrtcServer: String?
    public var work: URL
    /// Only these scenarios (relay, connections, joinStorm, chat, audit,
    /// cluster); nil runs all (the cluster only where PostgreSQL 15 and
    /// HAProxy are installed).
    public var only: Set<String>?
    public var progress: @Sendable (String) -> Void

    public static let scenarios: [String] = ["relay", "connections", "joinStorm", "chat", "audit", "cluster"]

    public init(
        profile: BenchProfile, samromBinary: String, benchBinary: String, saltyrtcServer: String?, work: URL,
        only: Set<String>? = nil, progress: @escaping @Sendable (String) -> Void
    ) {
        self.only = only
        self.profile = profile
        self.samromBinary = samromBinary
        self.benchBinary = benchBinary
        self.saltyrtcServer = saltyrtcServer
        self.work = work
        self.progress = progress
    }

    public func run() async throws -> BenchReport {
        var logger = Logger(label: "samrom-bench")
        logger.logLevel = .critical
        let servers = BenchServers(
            samromBinary: samromBinary, benchBinary: benchBinary, saltyrtcServer: saltyrtcServer, work: work, logger: logger)
        try await servers.prepare()
        var report = BenchReport(profile: profile, machine: Self.machine(saltyrtcServer: saltyrtcServer))
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: servers.clientTLS))
        do {
            try await runScenarios(into: &report, servers: servers, http: http)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
        return report
    }

    private func runScenarios(into report: inout BenchReport, servers: BenchServers, http: HTTPClient) async throws {
        let traffic = RelayTraffic()
        let profile = self.profile
        func wanted(_ scenario: String) -> Bool { only?.contains(scenario) ?? true }

        if wanted("relay") {
        progress("relay: samrom")
        report.relay["samrom"] = try await withSamrom("relay", servers, http) { server, target in
            try await RelayScenario.measure(server, profile: profile, makePair: RelayScenario.samromPair(target, traffic: traffic)) {
                $0.socket.close()
            }
        }
        progress("relay: ceiling (bare Hummingbird WebSocket relay)")
        let ceiling = try await servers.ceiling()
        defer { ceiling.stop() }
        report.relay["ceiling"] = try await RelayScenario.measure(
            ceiling, profile: profile, makePair: RelayScenario.ceilingPair(ceiling.port, servers: servers, traffic: traffic)
        ) { $0.socket.close() }
        ceiling.stop()

        if let salty = try await servers.saltyrtc() {
            defer { salty.stop() }
            progress("relay: saltyrtc")
            report.relay["saltyrtc"] = try await RelayScenario.measure(
                salty, profile: profile, makePair: RelayScenario.saltyPair(salty.port, servers: servers, traffic: traffic)
            ) { $0.socket.close() }
            salty.stop()
        }

        }

        if wanted("connections") {
        progress("connections: samrom, \(profile.connections)")
        report.connections["samrom"] = try await withSamrom("connections", servers, http) { server, target in
            try await ConnectionsScenario.samrom(server, target, profile: profile)
        }
        progress("connections: ceiling, \(profile.connections)")
        let bare = try await servers.ceiling()
        defer { bare.stop() }
        report.connections["ceiling"] = try await ConnectionsScenario.ceiling(bare, servers, profile: profile)
        bare.stop()
        if let salty = try await servers.saltyrtc() {
            defer { salty.stop() }
            progress("connections: saltyrtc, \(profile.connections)")
            report.connections["saltyrtc"] = try await ConnectionsScenario.saltyrtc(salty, servers, profile: profile)
            salty.stop()
        }

        }

        if wanted("joinStorm") {
        progress("join storm: \(profile.joinStorm) deltakere")
        report.joinStorm["samrom"] = try await withSamrom("join-storm", servers, http) { server, target in
            try await JoinStormScenario.samrom(server, target, profile: profile)
        }

        }

        if wanted("chat") {
        progress("chat: \(profile.chatPairs) pairs")
        report.chat = try await withSamrom("chat", servers, http) { server, target in
            try await ChatScenario.samrom(server, target, profile: profile)
        }

        }

        if wanted("audit") {
        progress("audit: \(profile.auditEntries) entries")
        report.audit = try await AuditScenario.measure(samromBinary: samromBinary, work: work, profile: profile)
        }

        if wanted("cluster") {
            if let missing = BenchCluster.unavailable {
                // Asked for by name it must run; in a run of everything it is left out.
                if only?.contains("cluster") == true { throw BenchError("cluster: \(missing)") }
                progress("cluster: skipped, \(missing)")
            } else {
                progress("cluster: two instances on PostgreSQL behind HAProxy, --home-lease \(BenchCluster.lease)")
                report.cluster = try await ClusterScenario.measure(
                    samromBinary: samromBinary, work: work, profile: profile, http: http, tls: servers.clientTLS, logger: servers.logger,
                    progress: progress)
            }
        }
    }

    private func withSamrom<T: Sendable>(
        _ label: String, _ servers: BenchServers, _ http: HTTPClient, _ body: (ServerProcess, SamromTarget) async throws -> T
    ) async throws -> T {
        let (server, target) = try await servers.samrom(label, http: http)
        defer { server.stop() }
        let result = try await body(server, target)
        // (A heap recording kills the server on purpose: ConnectionsScenario.)
        guard server.process.isRunning || ServerProcess.HeapProfile.isRecording else {
            throw BenchError("samrom exited during \(label)")
        }
        return result
    }

    static func machine(saltyrtcServer: String?) -> BenchReport.Machine {
        func command(_ arguments: [String]) -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            guard (try? process.run()) != nil else { return "unknown" }
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let salty = saltyrtcServer.map { path -> String in
            let pip = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("pip").path
            let version = command([pip, "show", "saltyrtc.server"]).split(separator: "\n")
                .first { $0.hasPrefix("Version:") }?.dropFirst("Version: ".count)
            return "saltyrtc.server \(version ?? "?") on \(command([URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("python").path, "--version"]))"
        }
        let formatter = ISO8601DateFormatter()
        return BenchReport.Machine(
            cores: ProcessInfo.processInfo.activeProcessorCount, memoryBytes: ProcessInfo.processInfo.physicalMemory,
            kernel: command(["uname", "-sr"]),
            swift: command(["swift", "--version"]).split(separator: "\n").first.map(String.init) ?? "unknown",
            saltyrtc: salty ?? "not run", samromCommit: command(["git", "rev-parse", "--short", "HEAD"]),
            date: formatter.string(from: Date()))
    }
}
