// `AuditVerifier.endsWithSeq` is internal to SamromCore: this harness needs
// a build with testability (every debug build, and the fuzz build, which
// passes -enable-testing). A release build leaves it out.
#if DEBUG || FUZZING
@testable import SamromCore

extension FuzzHarness {
    /// `AuditVerifier.endsWithSeq`, the verifier's check that an entry's bytes
    /// name its position, against a plain reading of the same rule: the
    /// bytes end with `"seq":` and 1 to 20 decimal digits of that number, then `}`.
    /// Tried with the number the first 8 bytes spell, the number the digits
    /// spell, its neighbour, and what the digits add up to modulo 2^64.
    public static let auditSeq = FuzzHarness(name: "audit-seq", maxLength: 256) { (bytes) throws(InvariantViolation) in
        var candidates: [UInt64] = [0, UInt64.max]
        if bytes.count >= 8 {
            candidates.append(bytes.prefix(8).reduce(0) { $0 << 8 | UInt64($1) })
        }
        let digits = trailingDigits(bytes)
        if let value = UInt64(String(decoding: digits, as: UTF8.self)) {
            candidates += [value, value &+ 1]
        }
        candidates.append(digits.reduce(UInt64(0)) { $0 &* 10 &+ UInt64($1 - UInt8(ascii: "0")) })
        for seq in candidates {
            let expected = reference(bytes, seq)
            let actual = AuditVerifier.endsWithSeq(bytes[...], seq)
            try require(actual == expected, "endsWithSeq(\(FuzzHarness.text(bytes).debugDescription), \(seq)) is \(actual), not \(expected)")
            // The same bytes in the middle of a larger buffer.
            let padded = [UInt8(ascii: "x")] + bytes + [UInt8(ascii: "}")]
            let inner = padded[1..<(padded.count - 1)]
            try require(AuditVerifier.endsWithSeq(inner, seq) == expected, "endsWithSeq depends on the slice's start for \(seq)")
        }
    }

    /// The digits just before a final `}`.
    private static func trailingDigits(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        guard bytes.last == UInt8(ascii: "}") else { return [] }
        let body = bytes.dropLast()
        let start = body.lastIndex { !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }.map { $0 + 1 } ?? body.startIndex
        return body[start...]
    }

    private static func reference(_ bytes: [UInt8], _ seq: UInt64) -> Bool {
        let digits = trailingDigits(bytes)
        guard (1...20).contains(digits.count), let value = UInt64(String(decoding: digits, as: UTF8.self)), value == seq else {
            return false
        }
        return bytes[..<digits.startIndex].suffix(6).elementsEqual(Array("\"seq\":".utf8))
    }
}
#endif
