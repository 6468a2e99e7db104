import Foundation

/// Everything one run measured. Encoded as `.build/bench-quick.json`
/// (`make bench-quick`) and rendered into docs/benchmarks.md (`make bench`).
public struct BenchReport: Codable, Sendable {
    public var profile: BenchProfile
    public var machine: Machine
    /// By server: "samrom", "ceiling" (bare Hummingbird WebSocket relay), "saltyrtc".
    public var relay: [String: Relay] = [:]
    /// By server: "samrom", "ceiling", "saltyrtc".
    public var connections: [String: Connections] = [:]
    public var joinStorm: [String: JoinStorm] = [:]
    public var chat: Chat?
    public var audit: Audit?

    public struct Machine: Codable, Sendable {
        public var cores: Int
        public var memoryBytes: UInt64
        public var kernel: String
        public var swift: String
        public var saltyrtc: String
        public var samromCommit: String
        public var date: String
    }

    public struct Relay: Codable, Sendable {
        /// Saturated: frames relayed per second with every direction keeping `relayWindow` in flight.
        public var msgsPerSec: Double
        /// One-way latency at the fixed rate (`relayFixedRate` frames/s in total).
        public var p50Ms: Double
        public var p99Ms: Double
        public var maxMs: Double
        /// Latency while saturated.
        public var saturated: LatencySummary
        /// Server CPU seconds per thousand frames relayed while saturated.
        public var serverCpuMsPerThousand: Double
        public var serverPeakRssBytes: Int
    }

    public struct Connections: Codable, Sendable {
        public var count: Int
        public var rssBytesPerConnection: Int
        public var baselineRssBytes: Int
        public var heldRssBytes: Int
        public var setupSeconds: Double
        /// Server CPU while only holding them (pings), per second.
        public var idleCpuPercent: Double
    }

    public struct JoinStorm: Codable, Sendable {
        public var count: Int
        /// From the first reconnect to the last deltaker back in its call.
        public var seconds: Double
        public var errors: Int
        /// Each deltaker's time from starting to reconnect until it is back in its
        /// call with its key announced again (`welcome`, `admitted`, `roster`, `key`).
        public var perClient: LatencySummary
        public var serverCpuSeconds: Double
    }

    public struct Chat: Codable, Sendable {
        public var ackedPerSec: Double
        public var ackP50Ms: Double
        public var ackP99Ms: Double
        public var ackMaxMs: Double
        public var pairs: Int
        public var serverCpuMsPerThousand: Double
    }

    public struct Audit: Codable, Sendable {
        public var appendPerSec: Double
        public var appended: Int
        /// `samrom audit verify` as a user runs it: process start, opening the store, checking.
        public var verifyPerSec: Double
        public var verifySeconds: Double
        /// The checking alone, as the command reports it.
        public var verifierPerSec: Double
    }

    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}
