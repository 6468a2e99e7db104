import Logging
import PostgresNIO
import SamromCore
import Synchronization

/// The audit log's signing turn on PostgreSQL: `pg_try_advisory_lock` on a
/// connection kept for it. Held as long as that connection lives; checked
/// with every ask, so a lost connection (and with it the lock) is noticed
/// before the next checkpoint is signed.
actor PostgresSigningTurn {
    /// The bytes spell "samrom" and a 2.
    static let lock: Int64 = 0x7361_6D72_6F6D_0002
    /// How long the turn's connection may take to answer before it counts
    /// as lost (and is closed, so that the lock surely goes with it).
    static let answerTimeout: Duration = .seconds(5)

    private let target: PostgresURL
    private let logger: Logger
    private var connection: PostgresConnection?
    private var failures = 0

    init(target: PostgresURL, logger: Logger) {
        self.target = target
        self.logger = logger
    }

    func hold() async -> Bool {
        let logger = self.logger
        if let held = connection {
            do {
                // Still ours while the connection answers. Not asked once it
                // is closed: postgres-nio never answers a query sent then.
                guard !held.isClosed else { throw StorageError(.unavailable, "the server closed the connection") }
                try await Self.answer(within: Self.answerTimeout) {
                    _ = try await held.query("SELECT 1", logger: logger).collect()
                }
                return true
            } catch {
                // Lost with its connection: say so now, take it again on a later ask.
                noteFailure(error)
                if connection === held { connection = nil }
                try? await held.close()
                return false
            }
        }
        let opened: PostgresConnection
        do {
            opened = try await PostgresStore.openConnection(target, logger: logger)
        } catch {
            noteFailure(error)
            return false
        }
        do {
            let taken = try await Self.answer(within: Self.answerTimeout) {
                try await opened.query("SELECT pg_try_advisory_lock(\(Self.lock))", logger: logger)
                    .collect().first?.decode(Bool.self) ?? false
            }
            failures = 0
            guard taken else {
                try? await opened.close()
                return false
            }
            connection = opened
            logger.info("this instance signs the audit log's checkpoints now")
            return true
        } catch {
            // Never left open: it might hold the lock without anyone knowing.
            noteFailure(error)
            try? await opened.close()
            return false
        }
    }

    private func noteFailure(_ error: any Error) {
        failures += 1
        if failures == 1 || failures % 60 == 0 {
            logger.warning("the audit signing turn is not held", metadata: ["cause": "\(PostgresAccess.cause(error))"])
        }
    }

    func release() async {
        guard let connection else { return }
        self.connection = nil
        // Closing the connection lets the lock go in any case; unlocking
        // first just says so at once.
        if !connection.isClosed {
            let logger = self.logger
            try? await Self.answer(within: Self.answerTimeout) {
                _ = try await connection.query("SELECT pg_advisory_unlock(\(Self.lock))", logger: logger).collect()
            }
        }
        try? await connection.close()
    }

    /// What `body` returns, or an error once `timeout` has passed without
    /// it: postgres-nio (1.33) never answers a query sent on a connection
    /// the server has closed, and one the network cut off answers nothing
    /// until TCP gives up. An unanswered `body` is left to its connection's
    /// close.
    static func answer<T: Sendable>(within timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let once = OnceContinuation(continuation)
            let timer = Task {
                do { try await Task.sleep(for: timeout) } catch { return }
                once.resume(with: .failure(StorageError(.unavailable, "PostgreSQL did not answer within \(timeout)")))
            }
            Task {
                let result: Result<T, any Error>
                do { result = .success(try await body()) } catch { result = .failure(error) }
                timer.cancel()
                once.resume(with: result)
            }
        }
    }
}

/// A continuation that whichever comes first resumes.
private final class OnceContinuation<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, any Error>?>

    init(_ continuation: CheckedContinuation<T, any Error>) {
        self.continuation = Mutex(continuation)
    }

    func resume(with result: Result<T, any Error>) {
        continuation.withLock { $0.take() }?.resume(with: result)
    }
}

extension PostgresStore: SigningTurn {
    public func holdSigningTurn() async -> Bool { await signingTurn.hold() }
    public func releaseSigningTurn() async { await signingTurn.release() }
}
