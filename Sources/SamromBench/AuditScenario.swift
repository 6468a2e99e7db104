import Foundation
import SamromCore
import SamromStore

/// Audit: entries appended through the real audit path (TransparencyLog on
/// SQLiteStore: leaf hash in the same transaction, group commit, fsync) by
/// concurrent writers, as a busy server's requests would; then `samrom
/// audit verify` run as a user runs it, over the whole log.
enum AuditScenario {
    /// The rate `audit verify` prints for the checking itself ("Checked in 0.812 s (1231527 entries/s).").
    static func checkedRate(_ printed: String) -> Double {
        guard let line = printed.split(separator: "\n").first(where: { $0.hasPrefix("Checked in") }),
            let open = line.firstIndex(of: "(")
        else { return 0 }
        return Double(line[line.index(after: open)...].prefix { $0.isNumber }) ?? 0
    }

    static func measure(samromBinary: String, work: URL, profile: BenchProfile) async throws -> BenchReport.Audit {
        let directory = work.appendingPathComponent("audit")
        try? FileManager.default.removeItem(at: directory)
        let store = try SQLiteStore(directory: directory)
        let signer = try AuditSigningKey.loadOrCreate(in: directory, name: "bench.samrom.example/audit")
        let log = try await TransparencyLog.open(store: store, signer: signer, clock: .system)

        let writers = profile.auditWriters
        let perWriter = profile.auditEntries / writers
        let started = RelayTraffic.now()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    for index in 0..<perWriter {
                        let consultation = ConsultationID.random()
                        try await log.record(AuditEvent(
                            at: Date(), actor: .participant(.random(), role: .deltaker), action: index % 3 == 0 ? .knock : .join,
                            consultation: consultation, outcome: .allowed, reason: "benchmark writer \(writer)", clientIP: "127.0.0.1"))
                    }
                }
            }
            try await group.waitForAll()
        }
        let appendSeconds = Double(RelayTraffic.now() - started) / 1e9
        let appended = writers * perWriter
        _ = try await log.checkpoint()

        let verifyStart = RelayTraffic.now()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: samromBinary)
        process.arguments = ["audit", "verify", "--data-dir", directory.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let verifySeconds = Double(RelayTraffic.now() - verifyStart) / 1e9
        guard process.terminationStatus == 0, printed.contains("Audit log intact: \(appended) entries") else {
            throw BenchError("samrom audit verify did not find the log intact: \(printed)")
        }
        try? FileManager.default.removeItem(at: directory)
        return BenchReport.Audit(
            appendPerSec: Double(appended) / appendSeconds, appended: appended,
            verifyPerSec: Double(appended) / verifySeconds, verifySeconds: verifySeconds,
            verifierPerSec: checkedRate(printed))
    }
}
