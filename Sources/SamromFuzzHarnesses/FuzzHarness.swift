/// One libFuzzer target: a name (the corpus folder under Tests/Fuzz/corpus
/// and the value of `SAMROM_FUZZ`), the longest input worth trying, and a
/// function that feeds one input to the code under test and checks what
/// holds for every input. A trap is a finding; so is a broken invariant,
/// which the function reports by throwing.
public struct FuzzHarness: Sendable {
    public let name: String
    /// `-max_len` for libFuzzer: the largest input that can reach new code.
    public let maxLength: Int
    public let run: @Sendable ([UInt8]) throws(InvariantViolation) -> Void

    public init(name: String, maxLength: Int, run: @escaping @Sendable ([UInt8]) throws(InvariantViolation) -> Void) {
        self.name = name
        self.maxLength = maxLength
        self.run = run
    }

    /// Every harness, in the order `scripts/fuzz.sh` runs them.
    public static let all: [FuzzHarness] = {
        var all = [clientMessage, sealed, requestBody, auditEntry, checkpoint, signedNote]
        #if DEBUG || FUZZING
        all.append(auditSeq)
        #endif
        return all
    }()

    public static func named(_ name: String) -> FuzzHarness? {
        all.first { $0.name == name }
    }
}

/// Something that must hold for every input did not.
public struct InvariantViolation: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Checks one invariant of a harness.
func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(InvariantViolation) {
    if !condition { throw InvariantViolation(message()) }
}
