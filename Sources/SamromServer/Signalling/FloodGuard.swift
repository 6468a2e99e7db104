import Foundation
import SamromCore

/// What a connection's reader does with each frame as it arrives: the token
/// bucket decides whether it is taken; dropped frames are answered once per
/// burst, and after `maxRejectedMessages` in a row the connection is closed
/// (frames still in flight after that are ignored until the peer's close
/// frame ends the stream).
struct FloodGuard {
    enum Verdict: Equatable {
        case accept
        /// Dropped without a word (said already, or closing).
        case ignore
        /// Dropped; tell the client to slow down.
        case warn
        /// Dropped, and the connection is to be closed.
        case close
    }

    private var bucket: TokenBucket
    private let maxRejected: Int
    private var rejectedInARow = 0
    private(set) var isClosing = false

    init(_ limits: SignallingSocket.Limits, now: Date) {
        bucket = TokenBucket(ratePerSecond: limits.messagesPerSecond, burst: limits.messageBurst, now: now)
        maxRejected = limits.maxRejectedMessages
    }

    mutating func admit(now: Date) -> Verdict {
        if isClosing { return .ignore }
        guard bucket.take(now: now) else {
            rejectedInARow += 1
            if rejectedInARow >= maxRejected {
                isClosing = true
                return .close
            }
            // Once per burst, not once per dropped frame.
            return rejectedInARow == 1 || rejectedInARow % 50 == 0 ? .warn : .ignore
        }
        rejectedInARow = 0
        return .accept
    }
}
