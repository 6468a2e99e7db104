import Foundation
import NIOSSL

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

    public static func run(_ arguments: [String], input: String? = nil) throws -> Run {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let error = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus, output: String(decoding: output, as: UTF8.self),
            error: String(decoding: error, as: UTF8.self))
    }

    public static func withDataDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("samrom-cli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        return try await body(directory.path)
    }

    public struct Server {
        public let process: Process
        public let port: Int
        /// Trusts exactly the self-signed certificate the server made.
        public let tls: TLSConfiguration
        /// What it printed up to "running at".
        public let output: String
    }

    /// `samrom serve` on a free port with the self-signed certificate it makes.
    public static func start(_ data: String, demo: Bool = false) throws -> Server {
        let process = Process()
        process.executableURL = binary
        process.arguments = ["serve", "--port", "0", "--data-dir", data, "--certs-dir", data + "/none", "--log-level", "critical"]
            + (demo ? ["--demo"] : [])
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        let deadline = Date().addingTimeInterval(60)
        while !text.contains("Samrom is running at"), Date() < deadline {
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let running = text.split(separator: "\n").first(where: { $0.contains("Samrom is running at") }),
            let port = running.split(separator: ":").last?.split(separator: "/").first.flatMap({ Int($0) })
        else {
            process.terminate()
            throw TestFailure("the server did not start: \(text)")
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(data + "/tls/self-signed.crt")
        return Server(process: process, port: port, tls: tls, output: text)
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
