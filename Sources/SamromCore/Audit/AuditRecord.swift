import Foundation

/// One leaf of the audit log as stored: its sequence number, its RFC 9162
/// leaf hash, and its canonical bytes — or none, once retention has erased
/// the content (the leaf hash stays, so the tree still verifies).
public struct AuditRecord: Sendable, Equatable {
    public var seq: UInt64
    public var leafHash: [UInt8]
    public var canonicalBytes: [UInt8]?

    public init(seq: UInt64, leafHash: [UInt8], canonicalBytes: [UInt8]?) {
        self.seq = seq
        self.leafHash = leafHash
        self.canonicalBytes = canonicalBytes
    }

    public var isErased: Bool { canonicalBytes == nil }

    /// The decoded entry, or nil when erased.
    public func entry() throws -> AuditEntry? {
        try canonicalBytes.map { try AuditEntry.decode(canonical: $0) }
    }

    /// The JSONL line: the entry's canonical bytes, or
    /// `{"erased":true,"leafHash":"<base64>","seq":N}` once erased.
    public var exportLine: [UInt8] {
        if let canonicalBytes { return canonicalBytes }
        return Array(#"{"erased":true,"leafHash":"\#(Data(leafHash).base64EncodedString())","seq":\#(seq)}"#.utf8)
    }
}
