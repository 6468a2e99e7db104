import Crypto
import Foundation

/// An independent implementation of RFC 9162 §2.1, written from the RFC's
/// text with swift-crypto's SHA-256 (not libsodium) and none of the
/// production code: the definition of MTH, and the verification algorithms
/// of §2.1.3.2 (inclusion) and §2.1.4.2 (consistency). Shared by the test
/// targets; never linked into the product.
public enum ReferenceMerkle {
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] { Array(Crypto.SHA256.hash(data: bytes)) }
    public static func leaf(_ entry: [UInt8]) -> [UInt8] { sha256([0x00] + entry) }
    public static func node(_ l: [UInt8], _ r: [UInt8]) -> [UInt8] { sha256([0x01] + l + r) }

    /// MTH(D[n]) straight from the definition (§2.1.1).
    public static func mth(_ entries: ArraySlice<[UInt8]>) -> [UInt8] {
        let n = entries.count
        if n == 0 { return sha256([]) }
        if n == 1 { return leaf(entries.first!) }
        var k = 1
        while k << 1 < n { k <<= 1 }
        let start = entries.startIndex
        return node(mth(entries[start..<(start + k)]), mth(entries[(start + k)...]))
    }

    /// §2.1.3.2: verifying an inclusion proof.
    public static func verifyInclusion(leafIndex: UInt64, treeSize: UInt64, leafHash: [UInt8], path: [[UInt8]], root: [UInt8]) -> Bool {
        guard leafIndex < treeSize else { return false }
        var fn = leafIndex
        var sn = treeSize - 1
        var r = leafHash
        for p in path {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                r = node(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = node(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == root
    }

    /// §2.1.4.2: verifying a consistency proof.
    public static func verifyConsistency(first: UInt64, second: UInt64, firstRoot: [UInt8], secondRoot: [UInt8], proof: [[UInt8]]) -> Bool {
        guard first <= second else { return false }
        if first == second { return proof.isEmpty && firstRoot == secondRoot }
        guard first > 0, !proof.isEmpty else { return false }
        var path = proof
        // If first is an exact power of 2, prepend first_hash.
        if first & (first - 1) == 0 { path.insert(firstRoot, at: 0) }
        var fn = first - 1
        var sn = second - 1
        // If LSB(fn) is set, right-shift both until it is not.
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path[0]
        var sr = path[0]
        for c in path.dropFirst() {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                fr = node(c, fr)
                sr = node(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                sr = node(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        return fr == firstRoot && sr == secondRoot && sn == 0
    }
}
