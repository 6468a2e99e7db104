import Foundation

/// The one rule for erasing audit content: only retention erases, only the
/// oldest entries, and each run says so in the log. Erased entries form a
/// prefix of the log (`0..<end`), and the `purge` entry a retention run
/// writes names that end. The verifier refuses an erased entry after one
/// that is not, and an erased prefix no purge entry accounts for, so whoever
/// can write the database cannot quietly hide one entry in the middle.
public enum AuditErasure {
    /// The reason of the purge entry written after erasing up to `end`.
    public static func reason(erasedBefore end: UInt64, olderThan cutoff: Date, count: Int) -> String {
        "retention: erased the content of \(count) audit entries older than \(AuditEntry.timestamp(cutoff)); "
            + "\(marker)\(end)"
    }

    /// The end of the erased prefix a purge entry's reason declares, if it is one.
    public static func declaredEnd(_ reason: String) -> UInt64? {
        guard let range = reason.range(of: marker, options: .backwards) else { return nil }
        return UInt64(reason[range.upperBound...])
    }

    /// Written last in the reason: `every entry before seq N is erased`.
    static let marker = "every entry before seq "

    /// Canonical entries start with their action (keys are sorted): a cheap
    /// test for a purge entry while verifying at a million entries a second.
    static let purgePrefix = Array(#"{"action":"purge","#.utf8)

    static func isPurge(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.count > purgePrefix.count && bytes.prefix(purgePrefix.count).elementsEqual(purgePrefix)
    }
}

/// What one erasure did: how many entries lost their content now, and the
/// end of the erased prefix (every entry before it is erased).
public struct AuditErasureResult: Sendable, Equatable {
    public var erased: Int
    public var end: UInt64

    public init(erased: Int, end: UInt64) {
        self.erased = erased
        self.end = end
    }
}
