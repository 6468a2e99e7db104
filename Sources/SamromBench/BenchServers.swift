import AsyncHTTPClient
import Foundation
import Logging
import NIOSSL

/// Starts the servers under test, each in a fresh process on a free port,
/// all with the same P-256 certificate (the kind `samrom serve` makes).
struct BenchServers: Sendable {
    /// `samrom` (release build for real numbers).
    let samromBinary: String
    /// `samrom-bench` itself, which also serves the ceiling relay.
    let benchBinary: String
    /// `saltyrtc-server` from its venv; nil skips SaltyRTC.
    let saltyrtcServer: String?
    let work: URL
    let logger: Logger

    var certificate: String { work.appendingPathComponent("tls/bench.crt").path }
    var key: String { work.appendingPathComponent("tls/bench.key").path }
    var saltyKey: String { work.appendingPathComponent("saltyrtc/permanent.key").path }

    static let username = "bench-veileder"
    static let password = "a benchmark password, not secret"

    /// The client side trusts any certificate: these are our own servers on loopback.
    var clientTLS: TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        return tls
    }

    func prepare() async throws {
        try FileManager.default.createDirectory(at: work.appendingPathComponent("tls"), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: certificate) {
            try run("/usr/bin/env", [
                "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", key, "-out", certificate, "-days", "30", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ])
        }
        if let saltyrtcServer, !FileManager.default.fileExists(atPath: saltyKey) {
            try FileManager.default.createDirectory(at: work.appendingPathComponent("saltyrtc"), withIntermediateDirectories: true)
            try run(saltyrtcServer, ["generate", saltyKey])
        }
    }

    /// A fresh Samrom with one veileder, logged in. The per-connection rate
    /// limit is raised (it still runs for every frame) so that it is not what
    /// the relay measures.
    func samrom(_ label: String, http: HTTPClient) async throws -> (ServerProcess, SamromTarget) {
        let data = work.appendingPathComponent("samrom-\(label)")
        try? FileManager.default.removeItem(at: data)
        try run(samromBinary, ["user", "add", "--username", Self.username, "--role", "veileder", "--data-dir", data.path], input: Self.password + "\n")
        let port = try ServerProcess.freePort()
        let server = try await ServerProcess.start(
            name: "samrom", executable: samromBinary,
            arguments: [
                "serve", "--port", "\(port)", "--data-dir", data.path, "--tls-cert", certificate, "--tls-key", key,
                "--certs-dir", data.appendingPathComponent("none").path, "--log-level", "error",
                "--message-rate", "1000000", "--message-burst", "1000000",
                // Every bench connection comes from 127.0.0.1, many at once.
                "--max-connections-per-address", "1000000", "--request-head-timeout", "60",
            ],
            port: port, log: work.appendingPathComponent("samrom-\(label).log"))
        do {
            let target = try await SamromTarget.login(
                port: port, tls: clientTLS, http: http, username: Self.username, password: Self.password, logger: logger)
            return (server, target)
        } catch {
            server.stop()
            throw error
        }
    }

    func ceiling() async throws -> ServerProcess {
        let port = try ServerProcess.freePort()
        return try await ServerProcess.start(
            name: "ceiling", executable: benchBinary,
            arguments: ["ceiling", "--port", "\(port)", "--tls-cert", certificate, "--tls-key", key],
            port: port, log: work.appendingPathComponent("ceiling.log"))
    }

    func saltyrtc() async throws -> ServerProcess? {
        guard let saltyrtcServer else { return nil }
        let port = try ServerProcess.freePort()
        return try await ServerProcess.start(
            name: "saltyrtc", executable: saltyrtcServer,
            arguments: ["-v", "1", "serve", "-tc", certificate, "-tk", key, "-k", saltyKey, "-h", "127.0.0.1", "-p", "\(port)"],
            port: port, log: work.appendingPathComponent("saltyrtc.log"))
    }

    private func run(_ executable: String, _ arguments: [String], input: String? = nil) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try? stdin.fileHandleForWriting.close()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw BenchError("\(URL(fileURLWithPath: executable).lastPathComponent) \(arguments.first ?? "") failed: \(message)")
        }
    }
}
