import Foundation
import ReferenceMerkle
import SamromCore
import Sodium
import Testing

/// The production tree against an independent implementation of RFC 9162,
/// and against the RFC 6962 test vectors every CT implementation checks.
@Suite struct MerkleTreeTests {
    /// The leaves of the RFC 6962 reference tests (certificate-transparency).
    static let vectorLeaves: [[UInt8]] = [
        [], [0x00], [0x10], [0x20, 0x21], [0x30, 0x31], [0x40, 0x41, 0x42, 0x43],
        [0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
        [0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f],
    ]
    static let vectorRoots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func tree(_ entries: [[UInt8]]) -> MerkleTree {
        var tree = MerkleTree()
        for entry in entries { tree.append(leafHash: MerkleTree.leafHash(entry)) }
        return tree
    }

    /// The tree hashes with swift-crypto's SHA-256 (faster here); libsodium's
    /// gives the same bytes, for every length around the block boundaries.
    @Test func treeHashIsLibsodiumsSHA256() {
        for length in [0, 1, 31, 55, 56, 63, 64, 65, 119, 120, 127, 128, 250, 1000, 4096] {
            let first = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let second = (0..<(length / 3)).map { UInt8(truncatingIfNeeded: $0 &* 17) }
            for prefix: UInt8 in [0x00, 0x01] {
                var ours = [UInt8](repeating: 0, count: 32), theirs = [UInt8](repeating: 0, count: 32)
                first.withUnsafeBytes { f in
                    second.withUnsafeBytes { s in
                        ours.withUnsafeMutableBytes { TreeHash.hash(prefix: prefix, f, s, into: $0) }
                        theirs.withUnsafeMutableBytes { SHA256.hash(prefix: prefix, f, s, into: $0) }
                    }
                }
                #expect(ours == theirs, "length \(length), prefix \(prefix)")
            }
        }
        #expect(TreeHash.empty == SHA256.hash([UInt8]()))
    }

    @Test func rootsMatchTheRFC6962TestVectors() throws {
        let tree = Self.tree(Self.vectorLeaves)
        #expect(Self.hex(try tree.root(size: 0)) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        for size in 1...8 {
            #expect(Self.hex(try tree.root(size: UInt64(size))) == Self.vectorRoots[size - 1], "size \(size)")
        }
    }

    @Test func rootsMatchTheDefinitionForEverySizeUpTo130() throws {
        let entries = (0..<130).map { i in Array("entry \(i)".utf8) }
        let tree = Self.tree(entries)
        for size in 0...130 {
            #expect(try tree.root(size: UInt64(size)) == ReferenceMerkle.mth(entries[0..<size]), "size \(size)")
        }
    }

    @Test func everyInclusionProofVerifiesIndependently() throws {
        let entries = (0..<70).map { i in Array("entry \(i)".utf8) }
        let tree = Self.tree(entries)
        for size in 1...70 {
            let root = ReferenceMerkle.mth(entries[0..<size])
            for index in 0..<size {
                let path = try tree.inclusionProof(index: UInt64(index), size: UInt64(size))
                #expect(ReferenceMerkle.verifyInclusion(
                    leafIndex: UInt64(index), treeSize: UInt64(size), leafHash: ReferenceMerkle.leaf(entries[index]),
                    path: path, root: root), "index \(index) size \(size)")
                // A proof for one leaf does not prove another.
                if size > 1 {
                    #expect(!ReferenceMerkle.verifyInclusion(
                        leafIndex: UInt64(index), treeSize: UInt64(size),
                        leafHash: ReferenceMerkle.leaf(entries[(index + 1) % size]), path: path, root: root))
                }
            }
        }
    }

    @Test func everyConsistencyProofVerifiesIndependently() throws {
        let entries = (0..<70).map { i in Array("entry \(i)".utf8) }
        let tree = Self.tree(entries)
        for second in 1...70 {
            let secondRoot = ReferenceMerkle.mth(entries[0..<second])
            for first in 1...second {
                let proof = try tree.consistencyProof(from: UInt64(first), to: UInt64(second))
                let firstRoot = ReferenceMerkle.mth(entries[0..<first])
                #expect(ReferenceMerkle.verifyConsistency(
                    first: UInt64(first), second: UInt64(second), firstRoot: firstRoot, secondRoot: secondRoot, proof: proof),
                    "\(first) → \(second)")
                // A rewritten history is not consistent.
                if first < second {
                    var forged = entries
                    forged[first - 1] = Array("forged".utf8)
                    #expect(!ReferenceMerkle.verifyConsistency(
                        first: UInt64(first), second: UInt64(second), firstRoot: ReferenceMerkle.mth(forged[0..<first]),
                        secondRoot: secondRoot, proof: proof))
                }
            }
        }
    }

    @Test func proofsOutsideTheTreeAreRefused() {
        let tree = Self.tree((0..<5).map { [UInt8($0)] })
        #expect(throws: MerkleTree.ProofError.self) { try tree.inclusionProof(index: 5, size: 5) }
        #expect(throws: MerkleTree.ProofError.self) { try tree.inclusionProof(index: 0, size: 6) }
        #expect(throws: MerkleTree.ProofError.self) { try tree.consistencyProof(from: 0, to: 3) }
        #expect(throws: MerkleTree.ProofError.self) { try tree.consistencyProof(from: 4, to: 3) }
        #expect(throws: MerkleTree.ProofError.self) { try tree.consistencyProof(from: 1, to: 6) }
        #expect(throws: MerkleTree.ProofError.self) { try tree.root(size: 6) }
    }
}
