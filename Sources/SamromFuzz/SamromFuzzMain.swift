import Foundation
import SamromFuzzHarnesses

#if FUZZING
// Built with -DFUZZING -sanitize=fuzzer,address -parse-as-library
// (scripts/fuzz.sh): libFuzzer's own main drives these two C entry points.
// `SAMROM_FUZZ` names the harness; `SAMROM_FUZZ=list` prints every harness
// with its -max_len and exits.

enum Selected {
    static let harness: FuzzHarness = {
        let name = ProcessInfo.processInfo.environment["SAMROM_FUZZ"] ?? ""
        guard let harness = FuzzHarness.named(name) else {
            FileHandle.standardError.write(Data("SAMROM_FUZZ must name a harness: \(FuzzHarness.all.map(\.name).joined(separator: ", "))\n".utf8))
            exit(2)
        }
        return harness
    }()
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    if ProcessInfo.processInfo.environment["SAMROM_FUZZ"] == "list" {
        for harness in FuzzHarness.all { print(harness.name, harness.maxLength) }
        exit(0)
    }
    _ = Selected.harness
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    do {
        try Selected.harness.run(bytes)
    } catch {
        // An invariant that does not hold is a finding like a trap: libFuzzer
        // saves the input as crash-….
        fatalError("\(Selected.harness.name): \(error)")
    }
    return 0
}

/// SwiftPM links an executable with `main` renamed to `SamromFuzz_main`
/// (so tests can link executables); with `-parse-as-library` there is no
/// Swift main, so this one hands the process to libFuzzer's driver.
@_cdecl("SamromFuzz_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var argc = argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzerTestOneInput(data, size) }
}

// libFuzzer's C entry point (compiler-rt FuzzerInterface.h); C only because
// libFuzzer is C++ with a C interface, linked by -sanitize=fuzzer.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

#else
/// The ordinary build: replays the seed corpus (or the folder given) through
/// every harness, or files through one harness (`samrom-fuzz NAME FILE…`),
/// and fails on any broken invariant.
@main
enum SamromFuzz {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        if let name = arguments.first, let harness = FuzzHarness.named(name) {
            var failed = false
            for path in arguments.dropFirst() {
                do {
                    try harness.run(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
                    print("\(path): ok")
                } catch {
                    print("\(path): \(error)")
                    failed = true
                }
            }
            exit(failed ? 1 : 0)
        }
        let directory = arguments.first.map { URL(fileURLWithPath: $0) } ?? FuzzCorpus.directory
        var failures = 0
        for harness in FuzzHarness.all {
            let result = FuzzCorpus.replay(harness, in: directory)
            print("\(harness.name): \(result.inputs) inputs, \(result.failures.count) failures")
            for failure in result.failures { print("  \(failure)") }
            failures += result.failures.count
        }
        exit(failures == 0 ? 0 : 1)
    }
}
#endif
