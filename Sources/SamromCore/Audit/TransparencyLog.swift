import Foundation

/// The audit log as a transparency log: every event is appended durably to
/// the store (its leaf hash computed in the same transaction), the Merkle
/// tree is kept in memory so roots and proofs are cheap, and checkpoints are
/// signed on demand (the server asks every second and at shutdown).
public actor TransparencyLog: AuditSink {
    let store: any AuditStore
    let signer: NoteSigner
    let clock: WallClock
    private var tree: MerkleTree
    /// Leaves committed out of order by concurrent appends, by sequence
    /// number, until the ones before them arrive.
    private var pending: [UInt64: [UInt8]] = [:]
    private var signedSize: UInt64?
    private var latestNote: String?

    /// Rebuilds the tree from the stored leaf hashes (no entry is re-read).
    public static func open(store: any AuditStore, signer: NoteSigner, clock: WallClock) async throws -> TransparencyLog {
        var tree = MerkleTree()
        while true {
            let page = try await store.auditLeafHashes(from: tree.size, limit: 65_536)
            if page.isEmpty { break }
            for offset in stride(from: 0, to: page.count, by: MerkleTree.hashLength) {
                tree.append(leafHash: Array(page[offset..<(offset + MerkleTree.hashLength)]))
            }
        }
        let latest = try await store.latestAuditCheckpoint()
        return TransparencyLog(store: store, signer: signer, clock: clock, tree: tree, latestNote: latest)
    }

    private init(store: any AuditStore, signer: NoteSigner, clock: WallClock, tree: MerkleTree, latestNote: String?) {
        self.store = store
        self.signer = signer
        self.clock = clock
        self.tree = tree
        self.latestNote = latestNote
    }

    public nonisolated var origin: String { signer.name }
    public nonisolated var verifier: NoteVerifier { signer.verifier }

    /// Returns once the entry is committed and synced to disk.
    public func record(_ event: AuditEvent) async throws {
        let record = try await store.appendAudit(event)
        pending[record.seq] = record.leafHash
        while let hash = pending.removeValue(forKey: tree.size) {
            tree.append(leafHash: hash)
        }
    }

    public var size: UInt64 { tree.size }

    public func root(size: UInt64) throws -> [UInt8] { try tree.root(size: size) }

    public func inclusionProof(index: UInt64, size: UInt64) throws -> [[UInt8]] {
        try tree.inclusionProof(index: index, size: size)
    }

    public func consistencyProof(from: UInt64, to: UInt64) throws -> [[UInt8]] {
        try tree.consistencyProof(from: from, to: to)
    }

    /// Signs and stores a checkpoint of the current tree if it grew since the
    /// last one; returns the latest signed note.
    @discardableResult
    public func checkpoint() async throws -> String {
        let size = tree.size
        if size == signedSize, let latestNote { return latestNote }
        let body = Checkpoint(origin: origin, size: size, rootHash: tree.root).body
        let note = try signer.sign(body)
        try await store.insertAuditCheckpoint(size: size, note: note, at: clock.now)
        if size >= signedSize ?? 0 {
            signedSize = size
            latestNote = note
        }
        return note
    }
}
