import Foundation
import Sodium

/// Recomputes the audit log from what is stored and checks it: every entry
/// against its leaf hash and its position, the whole tree against every
/// stored signed checkpoint, and optionally against a checkpoint saved
/// earlier (proving the log only grew by appending since).
public enum AuditVerifier {
    public struct Report: Sendable {
        /// Entries read (the tree size).
        public var size: UInt64 = 0
        public var root: [UInt8] = MerkleTree.emptyRoot
        public var erased: UInt64 = 0
        public var checkpointsVerified = 0
        /// The first problem found, if any.
        public var failure: Failure?
        public var isIntact: Bool { failure == nil }
    }

    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// The first sequence number that does not match, when it can be named.
        public var seq: UInt64?
        public var reason: String
        public var description: String { seq.map { "entry \($0): \(reason)" } ?? reason }
    }

    public static func verify(
        store: any AuditStore, verifier: NoteVerifier, savedCheckpoint: String? = nil, pageSize: Int = 50_000
    ) async throws -> Report {
        var report = Report()
        var tree = MerkleTree()
        var failures: [Failure] = []
        var computed = [UInt8](repeating: 0, count: MerkleTree.hashLength)

        // 1. Every stored leaf, in order: contiguous, its bytes hash to its leaf
        //    hash, and the bytes say they are at this position.
        scan: while true {
            let page = try await store.auditRecords(from: tree.size, limit: pageSize)
            if page.isEmpty { break }
            for record in page {
                let expected = tree.size
                guard record.seq == expected else {
                    failures.append(Failure(seq: expected, reason: "is missing (the next stored entry is \(record.seq))"))
                    break scan
                }
                guard record.leafHash.count == MerkleTree.hashLength else {
                    failures.append(Failure(seq: expected, reason: "has a malformed leaf hash"))
                    break scan
                }
                if let bytes = record.canonicalBytes {
                    bytes.withUnsafeBytes { b in computed.withUnsafeMutableBytes { SHA256.hash(prefix: 0x00, b, into: $0) } }
                    if computed != record.leafHash {
                        failures.append(Failure(seq: expected, reason: "its content does not match its leaf hash (altered)"))
                        break scan
                    }
                    if !endsWithSeq(bytes, expected) {
                        failures.append(Failure(seq: expected, reason: "its content names another position (moved or reordered)"))
                        break scan
                    }
                } else {
                    report.erased += 1
                }
                tree.append(leafHash: record.leafHash)
            }
        }
        report.size = tree.size
        report.root = tree.root

        // 2. Every stored checkpoint: signed by the log's key, and its root is
        //    the root of the stored entries at its size.
        var lastGood: UInt64 = 0
        for note in try await store.auditCheckpoints() {
            let checkpoint: Checkpoint
            do {
                checkpoint = try Checkpoint.parse(body: try verifier.open(note))
            } catch {
                failures.append(Failure(seq: nil, reason: "a stored checkpoint is not validly signed by \(verifier.name): \(error)"))
                continue
            }
            guard checkpoint.origin == verifier.name else {
                failures.append(Failure(seq: nil, reason: "a stored checkpoint is for another log (\(checkpoint.origin))"))
                continue
            }
            if let failure = compare(checkpoint, with: tree, lastGood: lastGood, what: "the signed checkpoint of size \(checkpoint.size)") {
                failures.append(failure)
            } else {
                lastGood = checkpoint.size
                report.checkpointsVerified += 1
            }
        }

        // 3. A checkpoint saved earlier by the personvernombud or an auditor.
        if let savedCheckpoint {
            do {
                let checkpoint = try Checkpoint.parse(body: try verifier.open(savedCheckpoint))
                if let failure = compare(checkpoint, with: tree, lastGood: 0, what: "the saved checkpoint of size \(checkpoint.size)") {
                    failures.append(failure)
                }
            } catch {
                failures.append(Failure(seq: nil, reason: "the saved checkpoint is not validly signed by \(verifier.name): \(error)"))
            }
        }
        report.failure = failures.min { ($0.seq ?? .max) < ($1.seq ?? .max) }
        return report
    }

    private static func compare(_ checkpoint: Checkpoint, with tree: MerkleTree, lastGood: UInt64, what: String) -> Failure? {
        guard checkpoint.size <= tree.size else {
            return Failure(
                seq: tree.size,
                reason: "is missing: \(what) covers \(checkpoint.size) entries but only \(tree.size) are stored (removed or rolled back)")
        }
        guard (try? tree.root(size: checkpoint.size)) == checkpoint.rootHash else {
            // The entries up to the last matching checkpoint are proven; the
            // change lies after it.
            return Failure(
                seq: lastGood,
                reason: "or a later one up to \(checkpoint.size - 1) was changed, inserted or removed: \(what) does not match the stored entries")
        }
        return nil
    }

    /// Canonical entries end with `"seq":N}` (keys are sorted; `seq` is last).
    static func endsWithSeq(_ bytes: [UInt8], _ seq: UInt64) -> Bool {
        let suffix = Array("\"seq\":\(seq)}".utf8)
        return bytes.count >= suffix.count && bytes.suffix(suffix.count).elementsEqual(suffix)
    }
}
