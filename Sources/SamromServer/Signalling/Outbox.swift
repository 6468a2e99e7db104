import SamromCore
import Synchronization

/// What a connection's writer sends: a message (encoded by the writer, not
/// by the actor that decided it), or the close.
public enum Outbound: Sendable, Equatable {
    case message(ServerMessage)
    case close(WebSocketCloseCode, reason: String)
}

/// Where an outbox's writer puts what it takes: the connection's socket.
protocol OutboxSink: Sendable {
    func write(_ text: String) async throws
    func close(_ code: WebSocketCloseCode, reason: String) async throws
}

/// A connection's queue of outgoing messages, bounded in messages and in
/// bytes: a client that stops reading cannot make the server hold more than
/// `maxBytes` for it, however large the messages (relayed offers, chat
/// history pages).
///
/// Its writer is a task that runs only while there is something to write:
/// the first message into an empty outbox starts it, and it ends when the
/// queue is empty. A task keeps the memory of its deepest call stack until
/// it ends, and most connections are idle most of the time, so an idle
/// connection holds no writer at all (docs/benchmarks.md, idle connections).
/// One writer at a time, so messages go out in the order they were queued.
final class Outbox: Sendable {
    /// Pending messages per connection before it counts as too slow.
    static let capacity = 1024

    private struct State {
        var sink: (any OutboxSink)?
        /// Queued items; those before `head` were taken already.
        var queue: [Outbound] = []
        var head = 0
        var pending: Int { queue.count - head }
        /// Estimated bytes of the messages queued and not yet written.
        var queuedBytes = 0
        var writing = false
        /// Takes nothing more: the connection is gone, closing, or too slow.
        var finished = false

        /// Whether a writer must be started now (and marks it started).
        mutating func needsWriter() -> (any OutboxSink)? {
            guard let sink, !writing, pending > 0 else { return nil }
            writing = true
            return sink
        }
    }

    private let state = Mutex(State())
    private let maxBytes: Int

    init(maxBytes: Int) {
        self.maxBytes = maxBytes
    }

    /// The socket to write to; what was queued before goes out now.
    func attach(_ sink: any OutboxSink) {
        let start = state.withLock { state in
            state.sink = sink
            return state.needsWriter()
        }
        if let start { startWriter(start) }
    }

    /// Queues a message for the connection. False when the outbox is full
    /// (in messages or bytes): the client does not read and more messages
    /// cannot help it, so the outbox is finished and the writer closes the
    /// connection with `too-slow`.
    func deliver(_ message: ServerMessage) -> Bool {
        let size = message.estimatedBytes
        let (accepted, start): (Bool, (any OutboxSink)?) = state.withLock { state in
            // Finished: the connection is already gone or closing; nothing to do.
            guard !state.finished else { return (true, nil) }
            guard state.queuedBytes + size <= maxBytes, state.pending < Self.capacity else {
                state.finished = true
                state.queue.append(.close(.policyViolation, reason: "too-slow"))
                return (false, state.needsWriter())
            }
            state.queuedBytes += size
            state.queue.append(.message(message))
            return (true, state.needsWriter())
        }
        if let start { startWriter(start) }
        return accepted
    }

    /// Queues the close (after whatever is queued); nothing is taken after it.
    func close(_ code: WebSocketCloseCode, reason: String) {
        let start: (any OutboxSink)? = state.withLock { state in
            guard !state.finished else { return nil }
            state.finished = true
            state.queue.append(.close(code, reason: reason))
            return state.needsWriter()
        }
        if let start { startWriter(start) }
    }

    /// The connection is gone: nothing more is written.
    func finish() {
        state.withLock { state in
            state.finished = true
            state.queue.removeAll()
            state.head = 0
            state.queuedBytes = 0
        }
    }

    /// The next item for the writer, or nil when the queue is empty (and,
    /// if `stopping`, the writer stops).
    private func next(stopping: Bool) -> Outbound? {
        state.withLock { state in
            guard state.pending > 0 else {
                guard stopping else { return nil }
                state.writing = false
                state.queue.removeAll(keepingCapacity: false)
                state.head = 0
                return nil
            }
            let item = state.queue[state.head]
            state.head += 1
            // A writer that never catches up never empties the queue: drop
            // what was taken once it is half of it.
            if state.head >= 64, state.head * 2 >= state.queue.count {
                state.queue.removeFirst(state.head)
                state.head = 0
            }
            return item
        }
    }

    private func written(_ message: ServerMessage) {
        let size = message.estimatedBytes
        state.withLock { $0.queuedBytes = max(0, $0.queuedBytes - size) }
    }

    private func startWriter(_ sink: any OutboxSink) {
        // Not a child of the connection's task: it lives only while there
        // is something to write, and ends when the socket fails or closes.
        Task { await self.write(to: sink) }
    }

    private func write(to sink: any OutboxSink) async {
        var yielded = false
        while true {
            guard let item = next(stopping: yielded) else {
                // Empty: give what is being decided right now (the next
                // frame of a busy call) one turn to arrive before stopping.
                if yielded { return }
                yielded = true
                await Task.yield()
                continue
            }
            yielded = false
            switch item {
            case .message(let message):
                do {
                    try await sink.write(message.encoded())
                } catch {
                    stop()
                    return
                }
                written(message)
            case .close(let code, let reason):
                try? await sink.close(code, reason: reason)
                stop()
                return
            }
        }
    }

    /// The socket is closed or failed: nothing more is taken or written.
    private func stop() {
        finish()
        state.withLock { $0.writing = false }
    }
}
