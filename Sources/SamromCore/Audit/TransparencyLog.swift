import Foundation

/// The audit log as a transparency log: every event is appended durably to
/// the store (its leaf hash computed in the same transaction), the Merkle
/// tree is kept in memory so roots and proofs are cheap, and checkpoints are
/// signed on demand (the server asks every second and at shutdown).
///
/// The store is the one sequencer: every writer (this server, a `samrom`
/// command run beside it) takes the next sequence number inside the store's
/// write transaction. The tree here is a cache of the store's leaves; when it
/// sees a gap (an entry another process appended), it catches up from the
/// store, and it always does before signing, so checkpoints never stall.
public actor TransparencyLog: AuditSink {
    let store: any AuditStore
    /// Nil on an instance that never signs (it has no signing key).
    let signer: NoteSigner?
    public nonisolated let verifier: NoteVerifier
    let clock: WallClock
    /// With several instances on one store, whether this one signs now.
    let turn: (any SigningTurn)?
    private var tree: MerkleTree
    /// Leaves committed out of order by concurrent appends, by sequence
    /// number, until the ones before them arrive.
    private var pending: [UInt64: [UInt8]] = [:]
    private var signedSize: UInt64?
    private var latestNote: String?

    /// Rebuilds the tree from the stored leaf hashes (no entry is re-read).
    public static func open(
        store: any AuditStore, signer: NoteSigner, clock: WallClock, turn: (any SigningTurn)? = nil
    ) async throws -> TransparencyLog {
        try await open(store: store, signer: signer, verifier: signer.verifier, clock: clock, turn: turn)
    }

    /// A log that `signer` signs (when it holds the `turn`), or, without a
    /// signer, one whose checkpoints another instance signs with `verifier`'s key.
    public static func open(
        store: any AuditStore, signer: NoteSigner?, verifier: NoteVerifier, clock: WallClock, turn: (any SigningTurn)?
    ) async throws -> TransparencyLog {
        let latest = try await store.latestAuditCheckpoint()
        let log = TransparencyLog(
            store: store, signer: signer, verifier: verifier, clock: clock, turn: turn, tree: MerkleTree(), latestNote: latest)
        try await log.catchUp()
        return log
    }

    private init(
        store: any AuditStore, signer: NoteSigner?, verifier: NoteVerifier, clock: WallClock, turn: (any SigningTurn)?,
        tree: MerkleTree, latestNote: String?
    ) {
        self.store = store
        self.signer = signer
        self.verifier = verifier
        self.clock = clock
        self.turn = turn
        self.tree = tree
        self.latestNote = latestNote
    }

    public nonisolated var origin: String { verifier.name }

    /// Returns once the entry is committed and synced to disk.
    public func record(_ event: AuditEvent) async throws {
        let record = try await store.appendAudit(event)
        // Appends committed together finish in any order: hold the early
        // ones until the leaves before them are in.
        if record.seq >= tree.size { pending[record.seq] = record.leafHash }
        growFromPending()
        // Still a gap: an entry this process never appended (another
        // process's) or one that is committed and about to be reported here.
        // Far behind means the former; read it from the store.
        if pending.count >= Self.maxPending {
            try await catchUp()
        }
    }

    /// Out-of-order leaves held before the tree catches up from the store.
    static let maxPending = 1024

    /// Appends every leaf the store holds beyond the tree: entries written by
    /// another process, and our own not yet reported.
    public func catchUp() async throws {
        while true {
            let from = tree.size
            let page = try await store.auditLeafHashes(from: from, limit: 65_536)
            let count = page.count / MerkleTree.hashLength
            // Appends may have grown the tree while the page was read.
            for i in 0..<count where from + UInt64(i) == tree.size {
                let start = i * MerkleTree.hashLength
                tree.append(leafHash: Array(page[start..<(start + MerkleTree.hashLength)]))
            }
            if count < 65_536 { break }
        }
        // Leaves reported late are in the tree already.
        pending = pending.filter { $0.key >= tree.size }
        growFromPending()
    }

    private func growFromPending() {
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
    /// last one; returns the latest signed note. When another instance holds
    /// the signing turn, signs nothing and returns the latest it stored.
    @discardableResult
    public func checkpoint() async throws -> String {
        guard let signer, await turn?.holdSigningTurn() ?? true else {
            guard let note = try await store.latestAuditCheckpoint() else {
                throw StorageError(.unavailable, "no checkpoint is signed yet; the instance that signs them signs one within a second")
            }
            return note
        }
        try await catchUp()
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
