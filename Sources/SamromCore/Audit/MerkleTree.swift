import Sodium

/// The audit log's Merkle tree, exactly as RFC 9162 §2.1 defines it over
/// SHA-256: leaf hash `SHA-256(0x00 || entry)`, node hash
/// `SHA-256(0x01 || left || right)`, the empty tree's hash `SHA-256()`.
///
/// It keeps, for every level k, the hashes of all *complete* subtrees of 2^k
/// leaves (64 bytes per leaf in all), so the root of any earlier size,
/// inclusion proofs and consistency proofs take O(log² n) hashes and never a
/// rescan. Appending is amortised one node hash per leaf.
public struct MerkleTree: Sendable {
    public static let hashLength = 32

    /// `levels[k]` holds the hashes of the complete subtrees of 2^k leaves,
    /// left to right, flat (32 bytes each). `levels[0]` are the leaf hashes.
    private var levels: [[UInt8]] = [[]]

    public init() {}

    public var size: UInt64 { UInt64(levels[0].count / Self.hashLength) }

    // MARK: Hashes

    public static func leafHash(_ entry: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: hashLength)
        entry.withUnsafeBytes { e in out.withUnsafeMutableBytes { TreeHash.hash(prefix: 0x00, e, into: $0) } }
        return out
    }

    public static func nodeHash(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: hashLength)
        left.withUnsafeBytes { l in
            right.withUnsafeBytes { r in out.withUnsafeMutableBytes { TreeHash.hash(prefix: 0x01, l, r, into: $0) } }
        }
        return out
    }

    /// MTH({}) = SHA-256 of the empty string.
    public static let emptyRoot = TreeHash.empty

    // MARK: Growing

    /// Adds the next leaf. `leafHash` must be 32 bytes.
    public mutating func append(leafHash: [UInt8]) {
        leafHash.withUnsafeBytes { append(leafHash: $0) }
    }

    /// Adds the next leaf from 32 bytes in place, allocating nothing per node.
    public mutating func append(leafHash: UnsafeRawBufferPointer) {
        precondition(leafHash.count == Self.hashLength, "a leaf hash is 32 bytes")
        levels[0].append(contentsOf: leafHash)
        var level = 0
        // Each time a level gains an even count, its last two complete
        // subtrees join into one on the level above.
        while levels[level].count / Self.hashLength % 2 == 0 {
            if levels.count == level + 1 { levels.append([]) }
            withUnsafeTemporaryAllocation(byteCount: Self.hashLength, alignment: 1) { parent in
                levels[level].withUnsafeBytes { all in
                    let count = all.count
                    let left = UnsafeRawBufferPointer(rebasing: all[(count - 64)..<(count - 32)])
                    let right = UnsafeRawBufferPointer(rebasing: all[(count - 32)..<count])
                    TreeHash.hash(prefix: 0x01, left, right, into: parent)
                }
                levels[level + 1].append(contentsOf: UnsafeRawBufferPointer(parent))
            }
            level += 1
        }
    }

    public func leafHash(at index: UInt64) -> [UInt8] {
        complete(level: 0, index: index)
    }

    // MARK: Roots and proofs (RFC 9162 §2.1.1, §2.1.3.1, §2.1.4.1)

    public struct ProofError: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// The root hash of the tree's first `size` leaves.
    public func root(size: UInt64) throws(ProofError) -> [UInt8] {
        guard size <= self.size else { throw ProofError(description: "the log has only \(self.size) entries") }
        return size == 0 ? Self.emptyRoot : subtree(0, size)
    }

    public var root: [UInt8] { try! root(size: size) }

    /// PATH(m, D[0:n]): the audit path proving leaf `index` is in the tree of `size` leaves.
    public func inclusionProof(index: UInt64, size: UInt64) throws(ProofError) -> [[UInt8]] {
        guard size <= self.size else { throw ProofError(description: "the log has only \(self.size) entries") }
        guard index < size else { throw ProofError(description: "index must be below size") }
        var proof: [[UInt8]] = []
        path(index, 0, size, into: &proof)
        return proof
    }

    /// PROOF(m, D[0:n]): proves the tree of `from` leaves is a prefix of the tree of `to` leaves.
    public func consistencyProof(from: UInt64, to: UInt64) throws(ProofError) -> [[UInt8]] {
        guard to <= size else { throw ProofError(description: "the log has only \(size) entries") }
        guard from > 0, from <= to else { throw ProofError(description: "from must be between 1 and to") }
        var proof: [[UInt8]] = []
        if from < to { subproof(from, 0, to, complete: true, into: &proof) }
        return proof
    }

    /// PATH over D[start:end], appended bottom-up.
    private func path(_ m: UInt64, _ start: UInt64, _ end: UInt64, into proof: inout [[UInt8]]) {
        let n = end - start
        guard n > 1 else { return }
        let k = Self.largestPowerOfTwo(below: n)
        if m - start < k {
            path(m, start, start + k, into: &proof)
            proof.append(subtree(start + k, end))
        } else {
            path(m, start + k, end, into: &proof)
            proof.append(subtree(start, start + k))
        }
    }

    /// SUBPROOF(m, D[start:end], b).
    private func subproof(_ m: UInt64, _ start: UInt64, _ end: UInt64, complete b: Bool, into proof: inout [[UInt8]]) {
        let n = end - start
        if m == n {
            if !b { proof.append(subtree(start, end)) }
            return
        }
        let k = Self.largestPowerOfTwo(below: n)
        if m <= k {
            subproof(m, start, start + k, complete: b, into: &proof)
            proof.append(subtree(start + k, end))
        } else {
            subproof(m - k, start + k, end, complete: false, into: &proof)
            proof.append(subtree(start, start + k))
        }
    }

    /// MTH(D[start:end]) for start < end ≤ size: a stored complete subtree
    /// when the range is one, else split as RFC 9162 does.
    private func subtree(_ start: UInt64, _ end: UInt64) -> [UInt8] {
        let n = end - start
        if n & (n - 1) == 0, start % n == 0 {
            return complete(level: n.trailingZeroBitCount, index: start / n)
        }
        let k = Self.largestPowerOfTwo(below: n)
        return Self.nodeHash(subtree(start, start + k), subtree(start + k, end))
    }

    private func complete(level: Int, index: UInt64) -> [UInt8] {
        let offset = Int(index) * Self.hashLength
        return Array(levels[level][offset..<(offset + Self.hashLength)])
    }

    /// The largest power of two strictly below `n` (n ≥ 2).
    static func largestPowerOfTwo(below n: UInt64) -> UInt64 {
        UInt64(1) << (63 - (n - 1).leadingZeroBitCount)
    }
}
