import SamromCore
import Synchronization

/// What a connection's writer sends: a message (encoded by the writer, not
/// by the actor that decided it), or the close.
public enum Outbound: Sendable, Equatable {
    case message(ServerMessage)
    case close(WebSocketCloseCode, reason: String)
}

/// A connection's queue of outgoing messages, drained by its socket's
/// writer, bounded in messages and in bytes: a client that stops reading
/// cannot make the server hold more than `maxBytes` for it, however large
/// the messages (relayed offers, chat history pages).
final class Outbox: Sendable {
    /// Pending messages per connection before it counts as too slow.
    static let capacity = 1024

    let stream: AsyncStream<Outbound>
    private let continuation: AsyncStream<Outbound>.Continuation
    private let maxBytes: Int
    /// Estimated bytes of the messages queued and not yet written.
    private let queuedBytes = Mutex(0)

    init(maxBytes: Int) {
        (stream, continuation) = AsyncStream<Outbound>.makeStream(bufferingPolicy: .bufferingOldest(Self.capacity))
        self.maxBytes = maxBytes
    }

    /// Queues a message for the connection's writer. False when the outbox
    /// is full (in messages or bytes): the client does not read and more
    /// messages cannot help it, so the outbox is finished (the writer then
    /// closes with `too-slow`).
    func deliver(_ message: ServerMessage) -> Bool {
        let size = message.estimatedBytes
        let fits = queuedBytes.withLock { queued in
            guard queued + size <= maxBytes else { return false }
            queued += size
            return true
        }
        guard fits else {
            finish()
            return false
        }
        switch continuation.yield(.message(message)) {
        case .enqueued, .terminated:
            // Terminated: the connection is already gone; nothing to close.
            return true
        case .dropped:
            finish()
            return false
        @unknown default:
            return true
        }
    }

    /// The writer has written `message`: its bytes leave the queue.
    func written(_ message: ServerMessage) {
        let size = message.estimatedBytes
        queuedBytes.withLock { $0 -= size }
    }

    /// Queues the close (after whatever is queued).
    func close(_ code: WebSocketCloseCode, reason: String) {
        continuation.yield(.close(code, reason: reason))
    }

    func finish() {
        continuation.finish()
    }
}
