import Foundation

/// Runs a program to its end without holding a thread while it runs.
///
/// The whole test run shares one cooperative pool of as many threads as
/// the machine has cores (two here). A test that waits for a child with
/// `waitUntilExit()`, `readDataToEndOfFile()` or `Thread.sleep` holds one of
/// them for as long as the child runs, and every other test's sockets,
/// timeouts and in-process servers wait with it: under the full parallel
/// suite that starved test clients past their 10 s deadlines and past the
/// servers' ping deadlines. So every child a test runs goes through here:
/// its input and output are files, and its end is a termination handler.
public enum Command {
    public struct Result: Sendable {
        public let status: Int32
        /// Its standard output, as bytes.
        public let data: Data
        public let error: String
        public var output: String { String(decoding: data, as: UTF8.self) }
    }

    /// Runs `executable` with `arguments`; `input` is its standard input,
    /// `environment` replaces the test process's and `directory` is its
    /// working directory when given.
    public static func run(
        _ executable: String, _ arguments: [String], input: String? = nil, environment: [String: String]? = nil,
        in directory: URL? = nil
    ) async throws -> Result {
        let files = FileManager.default.temporaryDirectory.appendingPathComponent("samrom-cmd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: files, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: files) }
        let inputFile = files.appendingPathComponent("in"), outputFile = files.appendingPathComponent("out"),
            errorFile = files.appendingPathComponent("err")
        try Data((input ?? "").utf8).write(to: inputFile)
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let directory { process.currentDirectoryURL = directory }
        let stdin = try FileHandle(forReadingFrom: inputFile), stdout = try FileHandle(forWritingTo: outputFile),
            stderr = try FileHandle(forWritingTo: errorFile)
        defer {
            try? stdin.close()
            try? stdout.close()
            try? stderr.close()
        }
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        let status = try await process.runToExit()
        return Result(
            status: status, data: (try? Data(contentsOf: outputFile)) ?? Data(),
            error: (try? String(contentsOf: errorFile, encoding: .utf8)) ?? "")
    }
}

extension Process {
    /// Starts it and waits for it to end without holding a thread; its exit status.
    public func runToExit() async throws -> Int32 {
        try await withCheckedThrowingContinuation { continuation in
            terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try run()
            } catch {
                terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
    }
}
