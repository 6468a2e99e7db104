import Foundation
import SamromFuzzHarnesses
import Testing

/// The fuzzing seed corpus (Tests/Fuzz/corpus), replayed through every
/// libFuzzer harness in the ordinary test run: an input that once broke an
/// invariant stays fixed without libFuzzer. (`scripts/fuzz.sh` fuzzes.)
@Suite struct FuzzCorpusTests {
    @Test(arguments: FuzzHarness.all.map(\.name))
    func corpusHolds(_ name: String) throws {
        let harness = try #require(FuzzHarness.named(name))
        let result = FuzzCorpus.replay(harness)
        #expect(result.inputs > 0, "Tests/Fuzz/corpus/\(name) is empty")
        for failure in result.failures {
            Issue.record("\(failure)")
        }
    }

    /// Every harness has seeds, and every seed folder a harness.
    @Test func everyHarnessHasACorpus() throws {
        let folders = try FileManager.default.contentsOfDirectory(atPath: FuzzCorpus.directory.path)
        #expect(Set(folders.filter { !$0.hasPrefix(".") }) == Set(FuzzHarness.all.map(\.name)))
    }
}
