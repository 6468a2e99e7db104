import Foundation
import GRDB
import Synchronization

/// Group commit: appends that arrive while a transaction is being written
/// and synced wait for the next one, and share its single fsync. Each append
/// runs in its own savepoint, so one that fails rolls back alone; none is
/// reported done before the transaction holding it is committed.
///
/// With `synchronous=FULL` every commit costs an fsync; under load (many
/// chat messages and audit entries at once) this turns N fsyncs into one.
actor GroupCommit {
    private struct Job: Sendable {
        let run: @Sendable (Database) -> Void
        let finish: @Sendable ((any Error)?) -> Void
    }

    private let pool: DatabasePool
    private var pending: [Job] = []
    private var writing = false
    /// Bounds one transaction, so a huge burst still commits in steps.
    private let maxBatch = 512

    init(pool: DatabasePool) {
        self.pool = pool
    }

    /// Runs `body` inside the next group transaction; returns once it is committed.
    func submit<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let outcome = Mutex<Result<T, any Error>?>(nil)
            pending.append(Job(
                run: { db in
                    do {
                        var value: T?
                        try db.inSavepoint {
                            value = try body(db)
                            return .commit
                        }
                        outcome.withLock { $0 = .success(value!) }
                    } catch {
                        outcome.withLock { $0 = .failure(error) }
                    }
                },
                finish: { commitError in
                    if let commitError {
                        continuation.resume(throwing: commitError)
                    } else {
                        continuation.resume(with: outcome.withLock { $0 } ?? .failure(CancellationError()))
                    }
                }))
            if !writing {
                writing = true
                Task { await self.drain() }
            }
        }
    }

    private func drain() async {
        while !pending.isEmpty {
            let batch = Array(pending.prefix(maxBatch))
            pending.removeFirst(batch.count)
            do {
                try await pool.write { db in
                    for job in batch { job.run(db) }
                }
                for job in batch { job.finish(nil) }
            } catch {
                for job in batch { job.finish(error) }
            }
        }
        writing = false
    }
}
