import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A server under test in its own process, so that its CPU time and memory
/// are its own: read from /proc while it runs, on the same kernel clock for all.
final class ServerProcess: @unchecked Sendable {
    struct StartFailed: Error, CustomStringConvertible {
        let description: String
    }

    let name: String
    let process: Process
    let port: Int

    private init(name: String, process: Process, port: Int) {
        self.name = name
        self.process = process
        self.port = port
    }

    /// Starts `executable`, its output going to `log`, and waits until
    /// 127.0.0.1:`port` accepts connections.
    static func start(name: String, executable: String, arguments: [String], port: Int, log: URL, timeout: Double = 60)
        async throws -> ServerProcess
    {
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let output = try FileHandle(forWritingTo: log)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        if let heaptrack = HeapProfile.environment(for: name) {
            guard FileManager.default.fileExists(atPath: HeapProfile.preload) else {
                throw StartFailed(description: "SAMROM_BENCH_HEAPTRACK needs heaptrack (\(HeapProfile.preload)); `make bench-heap` installs it")
            }
            process.environment = heaptrack
        }
        try process.run()
        let server = ServerProcess(name: name, process: process, port: port)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard process.isRunning else {
                throw StartFailed(description: "\(name) exited with \(process.terminationStatus); see \(log.path)")
            }
            if Self.accepts(port: port) { return server }
            try await Task.sleep(for: .milliseconds(100))
        }
        server.stop()
        throw StartFailed(description: "\(name) did not listen on \(port) within \(Int(timeout)) s; see \(log.path)")
    }

    /// With `SAMROM_BENCH_HEAPTRACK=<directory>`, every server runs under
    /// heaptrack's allocation recorder, writing `<directory>/<name>.raw`
    /// (read with `scripts/heap-breakdown.py`). Its own bookkeeping and slower
    /// allocations change the RSS and timings, so results of such a run are
    /// for the breakdown only.
    enum HeapProfile {
        static let preload = "/usr/lib/heaptrack/libheaptrack_preload.so"
        static let directory = ProcessInfo.processInfo.environment["SAMROM_BENCH_HEAPTRACK"].flatMap { $0.isEmpty ? nil : $0 }
        static var isRecording: Bool { directory != nil }

        static func environment(for name: String) -> [String: String]? {
            guard let directory else { return nil }
            var environment = ProcessInfo.processInfo.environment
            environment["LD_PRELOAD"] = preload
            let file = name.lowercased().filter { $0.isLetter || $0.isNumber || $0 == "-" }
            environment["DUMP_HEAPTRACK_OUTPUT"] = URL(fileURLWithPath: directory).appendingPathComponent("\(file).raw").path
            return environment
        }
    }

    /// User plus system CPU seconds so far.
    func cpuSeconds() -> Double { ProcStat.cpuSeconds(process.processIdentifier) }

    /// Resident memory now, and its peak, in bytes.
    func memory() -> (rss: Int, peak: Int) { ProcStat.memory(process.processIdentifier) }

    /// SIGTERM, then SIGKILL if it has not ended within a second (a
    /// graceful shutdown would wait for the clients the bench left behind).
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(1)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// SIGKILL now: under heaptrack, what is still allocated in the
    /// recording is then exactly what the server held at this moment.
    func killNow() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// A port that was free a moment ago.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StartFailed(description: "socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw StartFailed(description: "bind() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
