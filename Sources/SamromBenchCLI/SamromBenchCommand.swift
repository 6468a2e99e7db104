import ArgumentParser
import Foundation
import SamromBench

@main
struct SamromBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "samrom-bench",
        abstract: "Load generator and benchmark suite for Samrom, its bare-stack ceiling and SaltyRTC.",
        subcommands: [Run.self, Ceiling.self, Micro.self])
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run every scenario of a profile and write the results.")

    @Option(help: "tiny, quick or full.") var profile: String = "quick"
    @Option(help: "The samrom binary to measure (a release build for real numbers).") var samrom: String = ".build/release/samrom"
    @Option(help: "saltyrtc-server from its venv; empty to skip SaltyRTC.")
    var saltyrtc: String = ".build/saltyrtc-venv/bin/saltyrtc-server"
    @Option(help: "Scratch directory for data, certificates and server logs.") var work: String = ".build/bench-work"
    @Option(help: "Only these scenarios, comma-separated: relay, connections, joinStorm, chat, audit, cluster (two instances on PostgreSQL behind HAProxy).")
    var only: String?
    @Option(help: "Write the report as JSON here.") var json: String?
    @Option(help: "Rewrite the generated part of this Markdown file (docs/benchmarks.md).") var markdown: String?

    func validate() throws {
        guard BenchProfile.named(profile) != nil else { throw ValidationError("--profile must be tiny, quick or full") }
        for name in scenarios ?? [] where !BenchRunner.scenarios.contains(name) {
            throw ValidationError("unknown scenario \(name); use \(BenchRunner.scenarios.joined(separator: ", "))")
        }
        guard FileManager.default.isExecutableFile(atPath: samrom) else { throw ValidationError("no samrom binary at \(samrom)") }
        if !saltyrtc.isEmpty, !FileManager.default.isExecutableFile(atPath: saltyrtc) {
            throw ValidationError("no saltyrtc-server at \(saltyrtc) (run `make bench-venv`, or pass --saltyrtc '')")
        }
    }

    var scenarios: Set<String>? { only.map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) } }

    func run() async throws {
        let runner = BenchRunner(
            profile: BenchProfile.named(profile)!, samromBinary: samrom,
            benchBinary: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0],
            saltyrtcServer: saltyrtc.isEmpty ? nil : saltyrtc, work: URL(fileURLWithPath: work), only: scenarios
        ) { step in
            FileHandle.standardError.write(Data("samrom-bench: \(step)\n".utf8))
        }
        let report = try await runner.run()
        let data = try report.json()
        if let json {
            try data.write(to: URL(fileURLWithPath: json))
        } else {
            FileHandle.standardOutput.write(data + Data("\n".utf8))
        }
        if let markdown {
            let existing = (try? String(contentsOfFile: markdown, encoding: .utf8)) ?? "# Benchmarks\n"
            try BenchMarkdown.update(existing, with: report).write(toFile: markdown, atomically: true, encoding: .utf8)
        }
        for target in BenchMarkdown.targets(report) {
            let verdict = target.met.map { $0 ? "met" : "NOT MET" } ?? ""
            FileHandle.standardError.write(Data("  \(target.what): \(target.measured) (goal \(target.goal)) \(verdict)\n".utf8))
        }
    }
}

struct Ceiling: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the bare Hummingbird WebSocket relay (the ceiling Samrom is measured against) on 127.0.0.1.")

    @Option var port: Int
    @Option(name: .customLong("tls-cert")) var tlsCert: String
    @Option(name: .customLong("tls-key")) var tlsKey: String

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
    }

    func run() async throws {
        try await CeilingServer.run(port: port, certificatePath: tlsCert, keyPath: tlsKey) { port in
            print("ceiling relay listening on 127.0.0.1:\(port)")
        }
    }
}

/// Costs of the server's per-message work, in-process: where relay time goes.
struct Micro: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the per-message work of the signalling hot path (parse, validate, encode) in this process.")

    @Option(help: "Iterations per measurement.") var iterations: Int = 20_000

    func run() async throws {
        for line in MicroBenchmarks.run(iterations: max(1, min(iterations, 10_000_000))) { print(line) }
    }
}
