/// A run of stored audit leaves in flat buffers, for reading millions of
/// entries without an allocation per entry (`samrom audit verify`).
public struct AuditBatch: Sendable {
    public var seqs: [UInt64] = []
    /// 32 bytes per leaf.
    public var leafHashes: [UInt8] = []
    /// Every present entry's canonical bytes, back to back.
    public var bytes: [UInt8] = []
    /// Entry i is `bytes[starts[i]..<starts[i + 1]]`; empty when erased.
    public var starts: [Int] = [0]
    /// False where retention erased the content.
    public var present: [Bool] = []

    public init() {}

    public var count: Int { seqs.count }

    public mutating func append(seq: UInt64, leafHash: UnsafeRawBufferPointer, entry: UnsafeRawBufferPointer?) {
        seqs.append(seq)
        // A stored hash of the wrong length keeps its 32-byte slot (as zeros),
        // so the layout holds and verification reports that entry.
        if leafHash.count == 32 {
            leafHashes.append(contentsOf: leafHash)
        } else {
            leafHashes.append(contentsOf: repeatElement(0, count: 32))
        }
        if let entry { bytes.append(contentsOf: entry) }
        starts.append(bytes.count)
        present.append(entry != nil)
    }
}
