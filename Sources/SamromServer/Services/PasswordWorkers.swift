import Dispatch
import Synchronization

/// Argon2id runs here, on threads of its own: each check holds a core and
/// 64 MiB for tens of milliseconds, and on the shared cooperative pool it
/// would stall every call's signalling meanwhile. At most `workers` hashes
/// run at once; at most `queueLimit` more wait, and beyond that a login is
/// answered "busy" at once rather than queued without bound.
public final class PasswordWorkers: Sendable {
    public struct Busy: Error {}

    private let queues: [DispatchQueue]
    private let queueLimit: Int
    /// Hashes running or waiting, and which queue takes the next.
    private let state = Mutex<(inFlight: Int, next: Int)>((0, 0))

    public init(workers: Int, queueLimit: Int) {
        precondition(workers > 0 && queueLimit >= 0)
        queues = (0..<workers).map { DispatchQueue(label: "samrom.password.\($0)", qos: .userInitiated) }
        self.queueLimit = queueLimit
    }

    /// Runs `work` on a password thread; throws `Busy` when too many wait.
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        let queue: DispatchQueue? = state.withLock { state in
            guard state.inFlight < queues.count + queueLimit else { return nil }
            state.inFlight += 1
            state.next = (state.next + 1) % queues.count
            return queues[state.next]
        }
        guard let queue else { throw Busy() }
        defer { state.withLock { $0.inFlight -= 1 } }
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }
}
