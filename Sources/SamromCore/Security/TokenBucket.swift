import Foundation

/// A token bucket: `burst` messages at once, refilled at `ratePerSecond`.
/// A value type with time passed in, so its behaviour is tested without sleeping.
public struct TokenBucket: Sendable, Equatable {
    public let ratePerSecond: Double
    public let burst: Double
    private var tokens: Double
    private var updatedAt: Date

    public init(ratePerSecond: Double, burst: Double, now: Date) {
        self.ratePerSecond = ratePerSecond
        self.burst = burst
        self.tokens = burst
        self.updatedAt = now
    }

    /// Takes one token if there is one.
    public mutating func take(now: Date) -> Bool {
        let elapsed = max(0, now.timeIntervalSince(updatedAt))
        tokens = min(burst, tokens + elapsed * ratePerSecond)
        updatedAt = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
