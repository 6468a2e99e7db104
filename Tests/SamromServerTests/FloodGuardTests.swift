import Foundation
@testable import SamromServer
import Testing

/// The reader's rate limit as a value: what each frame of a flood gets.
@Suite struct FloodGuardTests {
    static func limits(rate: Double = 10, burst: Double = 5, maxRejected: Int = 120) -> SignallingSocket.Limits {
        var configuration = ServerConfiguration()
        configuration.messagesPerSecond = rate
        configuration.messageBurst = burst
        configuration.maxRejectedMessages = maxRejected
        return SignallingSocket.Limits(configuration)
    }

    @Test func aBurstIsTakenThenDroppedFramesAreAnsweredOncePerFifty() {
        let start = Date(timeIntervalSince1970: 1_000_000)
        var flood = FloodGuard(Self.limits(), now: start)
        let verdicts = (0..<106).map { _ in flood.admit(now: start) }
        #expect(verdicts.prefix(5).allSatisfy { $0 == .accept })
        // The first dropped frame is answered, then every 50th in a row.
        let warned = verdicts.indices.filter { verdicts[$0] == .warn }
        #expect(warned == [5, 54, 104])
        #expect(verdicts.filter { $0 == .ignore }.count == 106 - 5 - 3)
        #expect(!flood.isClosing)
    }

    @Test func tokensComeBackWithTimeAndResetTheCount() {
        let start = Date(timeIntervalSince1970: 1_000_000)
        var flood = FloodGuard(Self.limits(rate: 10, burst: 1), now: start)
        #expect(flood.admit(now: start) == .accept)
        #expect(flood.admit(now: start) == .warn)
        #expect(flood.admit(now: start.addingTimeInterval(0.2)) == .accept)
        // A new burst of drops is answered again.
        #expect(flood.admit(now: start.addingTimeInterval(0.2)) == .warn)
    }

    @Test func tooManyDroppedInARowCloseAndLaterFramesAreIgnored() {
        let start = Date(timeIntervalSince1970: 1_000_000)
        var flood = FloodGuard(Self.limits(burst: 1, maxRejected: 3), now: start)
        #expect(flood.admit(now: start) == .accept)
        #expect(flood.admit(now: start) == .warn)
        #expect(flood.admit(now: start) == .ignore)
        #expect(flood.admit(now: start) == .close)
        #expect(flood.isClosing)
        // Even with tokens back, nothing more is taken from a closing connection.
        #expect(flood.admit(now: start.addingTimeInterval(60)) == .ignore)
    }
}
