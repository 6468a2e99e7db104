import SamromCore

/// What a connection's writer sends: a message (encoded by the writer, not
/// by the actor that decided it), or the close.
public enum Outbound: Sendable, Equatable {
    case message(ServerMessage)
    case close(WebSocketCloseCode, reason: String)
}

/// A connection's queue of outgoing messages, drained by its socket's writer.
typealias Outbox = AsyncStream<Outbound>.Continuation

extension AsyncStream<Outbound>.Continuation {
    /// Pending messages per connection before it counts as too slow.
    static let capacity = 1024

    /// Queues a message for the connection's writer. False when its outbox
    /// is full: the client does not read and more messages cannot help it,
    /// so the outbox is finished (the writer then closes with `too-slow`).
    func deliver(_ message: ServerMessage) -> Bool {
        guard case .dropped = yield(.message(message)) else { return true }
        finish()
        return false
    }
}
