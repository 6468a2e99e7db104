import Synchronization

/// Runs `body` for 0..<count with at most `width` at once; results in index order.
func concurrently<T: Sendable>(
    _ count: Int, width: Int, _ body: @escaping @Sendable (Int) async throws -> T
) async throws -> [T] {
    try await withThrowingTaskGroup(of: (Int, T).self) { group in
        var results = [T?](repeating: nil, count: count)
        var next = 0
        while next < min(width, count) {
            let index = next
            group.addTask { (index, try await body(index)) }
            next += 1
        }
        while let (index, value) = try await group.next() {
            results[index] = value
            if next < count {
                let index = next
                group.addTask { (index, try await body(index)) }
                next += 1
            }
        }
        return results.map { $0! }
    }
}

/// Fails with `message` if `body` takes longer than `seconds`.
func withDeadline<T: Sendable>(_ seconds: Double, _ message: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        guard let first = try await group.next(), let value = first else {
            group.cancelAll()
            throw BenchError("\(message): no answer within \(Int(seconds)) s")
        }
        group.cancelAll()
        return value
    }
}

public struct BenchError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Tells the senders of a timed run to stop.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}

/// The end of a timed run whose tasks each return (count, latencies):
/// after `seconds`, tells the senders to stop, lets the last frames land,
/// stops the readers, and adds up what they counted.
func finishTimedRun(_ group: inout TaskGroup<(Int, Latency)>, after seconds: Double, stop: StopFlag) async -> (Int, Latency) {
    try? await Task.sleep(for: .seconds(seconds))
    stop.set()
    try? await Task.sleep(for: .milliseconds(300))
    group.cancelAll()
    var total = 0
    var latency = Latency()
    for await (count, part) in group {
        total += count
        latency.add(part)
    }
    return (total, latency)
}
