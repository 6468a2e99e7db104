import Crypto

/// The SHA-256 of RFC 9162's leaf and node hashes (`prefix || first ||
/// second`), for the audit log's Merkle tree. From swift-crypto: its
/// BoringSSL uses the CPU's SHA instructions where there are any, while
/// libsodium 1.0.18's SHA-256 is portable C. The bytes are the same (the
/// tests check both against each other and against RFC 9162 vectors); the
/// speed is measured in `samrom-bench` ("audit leaf hash"). Everything else
/// that hashes or signs stays with libsodium.
public enum TreeHash {
    public static let length = 32

    /// SHA-256 of `prefix || first || second` into `out` (32 bytes), allocating nothing.
    public static func hash(
        prefix: UInt8, _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
        into out: UnsafeMutableRawBufferPointer
    ) {
        precondition(out.count >= length, "SHA-256 needs 32 bytes of output")
        var hasher = Crypto.SHA256()
        withUnsafeBytes(of: prefix) { hasher.update(bufferPointer: $0) }
        hasher.update(bufferPointer: first)
        if second.count > 0 { hasher.update(bufferPointer: second) }
        hasher.finalize().withUnsafeBytes { out.copyMemory(from: $0) }
    }

    /// SHA-256 of the empty string: the empty tree's root.
    public static let empty: [UInt8] = Array(Crypto.SHA256.hash(data: [UInt8]()))
}
