import SamromCore
import Synchronization

/// Which consultation each live resume token (by hash) leads back to. The
/// sessions add and forget tokens as their rooms decide; the hub looks a
/// token up when someone comes back. Shared, so neither waits on the other.
final class ResumeIndex: Sendable {
    private let table = Mutex<[TokenHash: ConsultationID]>([:])

    func add(_ hash: TokenHash, for consultation: ConsultationID) { table.withLock { $0[hash] = consultation } }
    func forget(_ hash: TokenHash) { table.withLock { $0[hash] = nil } }
    func consultation(for hash: TokenHash) -> ConsultationID? { table.withLock { $0[hash] } }
}
