import Foundation
import SamromCore
import Synchronization

/// A clock the test moves by hand; the server reads it through `WallClock`.
final class TestClock: Sendable {
    private let current: Mutex<Date>

    init(_ start: Date = Date()) { current = Mutex(start) }

    var now: Date { current.withLock { $0 } }

    func advance(by seconds: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }

    var wallClock: WallClock { WallClock { [self] in self.now } }
}
