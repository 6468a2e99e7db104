import Foundation

/// The seed corpus in Tests/Fuzz/corpus, one folder per harness, replayed
/// through the harnesses in the ordinary build (`samrom-fuzz` without
/// `-DFUZZING`, and `FuzzCorpusTests`), so that an input once found stays
/// found without libFuzzer.
public enum FuzzCorpus {
    /// Tests/Fuzz/corpus of this checkout.
    public static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Tests/Fuzz/corpus")

    public struct Failure: Sendable, CustomStringConvertible {
        public var harness: String
        public var file: String
        public var reason: String
        public var description: String { "\(harness): \(file): \(reason)" }
    }

    /// The files of one harness's folder, sorted by name.
    public static func files(of harness: FuzzHarness, in directory: URL = directory) -> [URL] {
        let folder = directory.appendingPathComponent(harness.name)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { folder.appendingPathComponent($0) }
    }

    /// Runs every file of the harness's folder through it; an unreadable
    /// file is a failure too.
    public static func replay(_ harness: FuzzHarness, in directory: URL = directory) -> (inputs: Int, failures: [Failure]) {
        let files = files(of: harness, in: directory)
        var failures: [Failure] = []
        for file in files {
            do {
                try harness.run(Array(try Data(contentsOf: file)))
            } catch {
                failures.append(Failure(harness: harness.name, file: file.lastPathComponent, reason: "\(error)"))
            }
        }
        return (files.count, failures)
    }
}
