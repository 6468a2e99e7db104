/// When a connection must have sent a complete request head, as a value
/// type: each event returns what the channel handler should do, so the
/// transitions are tested without sockets.
///
/// From accept, the TLS handshake and the first request head share one
/// deadline. After a response, a keep-alive connection may sit idle (the
/// HTTP idle timeout closes it eventually), but once the first byte of the
/// next request arrives, its head must be complete within the limit too.
/// A connection that asks for a WebSocket upgrade leaves this machine: the
/// signalling layer has its own hello timeout and pings.
struct RequestHeadDeadline: Equatable {
    enum State: Equatable {
        /// The deadline runs: handshake or a request head not yet complete.
        case awaitingHead
        /// Request heads received whose responses have not ended.
        case handling(requests: Int)
        /// Between requests on a keep-alive connection; no deadline.
        case idle
        /// Upgraded (or upgrading) to a WebSocket; no longer watched.
        case stopped
    }

    enum Action: Equatable {
        case none
        case startTimer
        case cancelTimer
        case close
    }

    private(set) var state: State = .awaitingHead

    /// The connection is open: the handshake and first head count from now.
    mutating func connectionOpened() -> Action {
        state == .awaitingHead ? .startTimer : .none
    }

    /// Bytes came in (before the HTTP decoder saw them).
    mutating func bytesArrived() -> Action {
        guard state == .idle else { return .none }
        state = .awaitingHead
        return .startTimer
    }

    mutating func headReceived() -> Action {
        switch state {
        case .awaitingHead:
            state = .handling(requests: 1)
            return .cancelTimer
        case .handling(let requests):
            state = .handling(requests: requests + 1)
            return .none
        case .idle:
            state = .handling(requests: 1)
            return .none
        case .stopped:
            return .none
        }
    }

    mutating func responseEnded() -> Action {
        if case .handling(let requests) = state {
            state = requests > 1 ? .handling(requests: requests - 1) : .idle
        }
        return .none
    }

    /// The first request asked for a WebSocket upgrade.
    mutating func stop() -> Action {
        let wasRunning = state == .awaitingHead
        state = .stopped
        return wasRunning ? .cancelTimer : .none
    }

    mutating func timerFired() -> Action {
        state == .awaitingHead ? .close : .none
    }
}
