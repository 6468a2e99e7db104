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

        // 1. Every stored leaf, in order: contiguous, its bytes hash to its leaf
        //    hash, and the bytes say they are at this position. Pipelined: while
        //    batch N is hashed on every core, batch N-1 (already checked) grows
        //    the tree and batch N+1 is read from disk.
        var previous: (batch: AuditBatch, count: Int)?
        var expected: UInt64 = 0
        // Erasure (AuditErasure): a prefix, accounted for by a purge entry.
        var sawContent = false
        var declaredErased: UInt64 = 0
        var pending = try await store.auditBatch(from: 0, limit: pageSize)
        while pending.count > 0 {
            let batch = pending
            async let following = store.auditBatch(from: (batch.seqs.last ?? 0) + 1, limit: pageSize)
            let hashOK = checkAndGrow(batch, growing: &tree, with: previous)
            previous = nil
            var valid = 0
            check: for i in 0..<batch.count {
                guard batch.seqs[i] == expected else {
                    failures.append(Failure(seq: expected, reason: "is missing (the next stored entry is \(batch.seqs[i]))"))
                    break check
                }
                guard batch.starts.count > i + 1, batch.leafHashes.count >= (i + 1) * MerkleTree.hashLength else {
                    failures.append(Failure(seq: expected, reason: "has a malformed leaf hash"))
                    break check
                }
                if batch.present[i] {
                    let bytes = batch.bytes[batch.starts[i]..<batch.starts[i + 1]]
                    guard hashOK[i] else {
                        failures.append(Failure(seq: expected, reason: "its content does not match its leaf hash (altered)"))
                        break check
                    }
                    guard endsWithSeq(bytes, expected) else {
                        failures.append(Failure(seq: expected, reason: "its content names another position (moved or reordered)"))
                        break check
                    }
                    sawContent = true
                    if AuditErasure.isPurge(bytes), let entry = try? AuditEntry.decode(canonical: Array(bytes)),
                        let end = AuditErasure.declaredEnd(entry.event.reason)
                    {
                        declaredErased = max(declaredErased, end)
                    }
                } else {
                    guard !sawContent else {
                        failures.append(Failure(
                            seq: expected,
                            reason: "its content is erased but older entries' is not (retention erases only the oldest; removed)"))
                        break check
                    }
                    report.erased += 1
                }
                expected += 1
                valid += 1
            }
            previous = (batch, valid)
            if !failures.isEmpty {
                _ = try? await following
                break
            }
            pending = try await following
        }
        if let previous { append(previous, to: &tree) }
        if failures.isEmpty, report.erased > declaredErased {
            failures.append(Failure(
                seq: declaredErased,
                reason: "its content is erased but no retention entry says so (only \(declaredErased) erased entries are declared; removed)"))
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

    /// Whether each present entry of `batch` hashes to its stored leaf hash,
    /// computed on every core, while the already checked `previous` batch is
    /// appended to `tree` alongside (SHA-256 dominates verification).
    static func checkAndGrow(_ batch: AuditBatch, growing tree: inout MerkleTree, with previous: (batch: AuditBatch, count: Int)?) -> [Bool] {
        let count = batch.count
        guard count > 0, batch.leafHashes.count == count * MerkleTree.hashLength, batch.starts.count == count + 1 else {
            if let previous { append(previous, to: &tree) }
            return Array(repeating: false, count: count)
        }
        var results = [Bool](repeating: false, count: count)
        let lanes = max(1, min(ProcessInfo.processInfo.activeProcessorCount, count / 1024))
        results.withUnsafeMutableBufferPointer { out in
            batch.bytes.withUnsafeBytes { bytes in
                batch.leafHashes.withUnsafeBytes { hashes in
                    withUnsafeMutablePointer(to: &tree) { tree in
                        // Lane 0 grows the tree; the others hash. Each writes
                        // only its own indices; the buffers outlive the call.
                        nonisolated(unsafe) let out = out
                        nonisolated(unsafe) let bytes = bytes
                        nonisolated(unsafe) let hashes = hashes
                        nonisolated(unsafe) let tree = tree
                        DispatchQueue.concurrentPerform(iterations: lanes + 1) { lane in
                            if lane == 0 {
                                if let previous { append(previous, to: &tree.pointee) }
                                return
                            }
                            var computed = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
                            for i in stride(from: lane - 1, to: count, by: lanes) where batch.present[i] {
                                let entry = UnsafeRawBufferPointer(rebasing: bytes[batch.starts[i]..<batch.starts[i + 1]])
                                out[i] = withUnsafeMutableBytes(of: &computed) { c in
                                    TreeHash.hash(prefix: 0x00, entry, into: c)
                                    return c.elementsEqual(UnsafeRawBufferPointer(rebasing: hashes[(i * 32)..<(i * 32 + 32)]))
                                }
                            }
                        }
                    }
                }
            }
        }
        return results
    }

    /// Appends the first `count` leaves of a checked batch.
    static func append(_ checked: (batch: AuditBatch, count: Int), to tree: inout MerkleTree) {
        checked.batch.leafHashes.withUnsafeBytes { all in
            for i in 0..<checked.count {
                tree.append(leafHash: UnsafeRawBufferPointer(rebasing: all[(i * 32)..<(i * 32 + 32)]))
            }
        }
    }

    /// Canonical entries end with `"seq":N}` (keys are sorted; `seq` is last).
    static func endsWithSeq(_ bytes: ArraySlice<UInt8>, _ seq: UInt64) -> Bool {
        var index = bytes.endIndex - 1
        guard index >= bytes.startIndex, bytes[index] == UInt8(ascii: "}") else { return false }
        var value: UInt64 = 0
        var scale: UInt64 = 1
        var digits = 0
        index -= 1
        while index >= bytes.startIndex, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
            let (product, overflow) = UInt64(bytes[index] - UInt8(ascii: "0")).multipliedReportingOverflow(by: scale)
            guard !overflow, digits < 20 else { return false }
            // A sum past 2^64 is no position (found by scripts/fuzz.sh).
            let (sum, carry) = value.addingReportingOverflow(product)
            guard !carry else { return false }
            value = sum
            scale &*= 10
            digits += 1
            index -= 1
        }
        let key = Array("\"seq\":".utf8)
        guard digits > 0, value == seq, index - bytes.startIndex + 1 >= key.count else { return false }
        return bytes[(index - key.count + 1)...index].elementsEqual(key)
    }
}
