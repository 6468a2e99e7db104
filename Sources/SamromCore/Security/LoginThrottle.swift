import Foundation

/// Slows password guessing per account name and per client address.
///
/// Each key (the submitted username, whether or not it exists, and the
/// client address) may fail `freeFailures` times; after that each further
/// attempt must wait `baseDelay * 2^(failures - freeFailures)`, capped at
/// `maxDelay`. Failures are forgotten `memory` after the last one. A value
/// type with time passed in.
public struct LoginThrottle: Sendable {
    public struct Policy: Sendable, Equatable {
        public var freeFailures: Int
        public var baseDelay: TimeInterval
        public var maxDelay: TimeInterval
        public var memory: TimeInterval
        /// Bounds the memory used by an attacker spraying usernames.
        public var maxKeys: Int

        public init(freeFailures: Int = 5, baseDelay: TimeInterval = 1, maxDelay: TimeInterval = 900,
                    memory: TimeInterval = 3600, maxKeys: Int = 100_000) {
            self.freeFailures = freeFailures
            self.baseDelay = baseDelay
            self.maxDelay = maxDelay
            self.memory = memory
            self.maxKeys = maxKeys
        }
    }

    public enum Key: Hashable, Sendable {
        case account(String)
        case address(String)
    }

    struct Record: Sendable {
        var failures: Int
        var lastFailure: Date
    }

    public let policy: Policy
    private var records: [Key: Record] = [:]

    public init(policy: Policy = .init()) {
        self.policy = policy
    }

    /// Seconds to wait before another attempt for these keys, or nil if allowed now.
    public func retryAfter(_ keys: [Key], now: Date) -> TimeInterval? {
        var wait: TimeInterval = 0
        for key in keys {
            guard let record = records[key], now.timeIntervalSince(record.lastFailure) < policy.memory else { continue }
            let excess = record.failures - policy.freeFailures
            guard excess >= 0 else { continue }
            let delay = min(policy.maxDelay, policy.baseDelay * pow(2, Double(min(excess, 30))))
            let remaining = record.lastFailure.addingTimeInterval(delay).timeIntervalSince(now)
            wait = max(wait, remaining)
        }
        return wait > 0 ? wait : nil
    }

    /// Lets an attempt in, or says how long to wait. An attempt let in
    /// counts as a failure at once, before the expensive password check, so
    /// attempts sent in parallel cannot all slip past the limit; `succeeded`
    /// takes it back.
    public mutating func admit(_ keys: [Key], now: Date) -> TimeInterval? {
        if let wait = retryAfter(keys, now: now) { return wait }
        recordFailure(keys, now: now)
        return nil
    }

    /// The attempt let in by `admit` was right: the account's record is
    /// cleared and the address's attempt taken back (not its earlier
    /// failures: one good password must not reset a sprayer's counter).
    public mutating func succeeded(_ keys: [Key]) {
        withdraw(keys.filter { if case .address = $0 { true } else { false } })
        for case .account(let name) in keys { records[.account(name)] = nil }
    }

    /// The attempt let in by `admit` was never checked (the server was too
    /// busy): it counts for none of its keys.
    public mutating func withdraw(_ keys: [Key]) {
        for key in keys {
            if let record = records[key] { records[key]?.failures = max(0, record.failures - 1) }
        }
    }

    public mutating func recordFailure(_ keys: [Key], now: Date) {
        if records.count >= policy.maxKeys { prune(now: now) }
        for key in keys {
            var record = records[key] ?? Record(failures: 0, lastFailure: now)
            if now.timeIntervalSince(record.lastFailure) >= policy.memory { record.failures = 0 }
            record.failures += 1
            record.lastFailure = now
            records[key] = record
        }
    }

    private mutating func prune(now: Date) {
        records = records.filter { now.timeIntervalSince($0.value.lastFailure) < policy.memory }
        if records.count >= policy.maxKeys {
            // Still full: keep the most recent half.
            let kept = records.sorted { $0.value.lastFailure > $1.value.lastFailure }.prefix(policy.maxKeys / 2)
            records = Dictionary(uniqueKeysWithValues: kept.map { ($0.key, $0.value) })
        }
    }
}
