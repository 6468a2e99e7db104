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
    /// Two instances on PostgreSQL behind HAProxy (issue 14); nil when not run.
    public var cluster: Cluster?

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

    /// Issue 14's three measurements: `samrom-a` and `samrom-b` (`samrom
    /// serve --store postgres://… --home-lease 3`) on one PostgreSQL 15
    /// database (fsync and synchronous_commit on), behind HAProxy with
    /// deploy/haproxy.cfg, everything on this machine's loopback.
    public struct Cluster: Codable, Sendable {
        public var instances: Int
        public var homeLeaseSeconds: Int
        public var postgres: String
        public var haproxy: String
        /// HAProxy's open-files limit (it derives its connection limit from it).
        public var haproxyOpenFiles: Int
        /// The relay measurement against samrom-a alone, straight to its port
        /// (PostgreSQL store, the same processes, HAProxy idle).
        public var relayDirect: Relay
        /// The same through HAProxy (HTTP API and `/ws?r=ROUTE`), calls on
        /// both instances; its server CPU is both instances'.
        public var relayProxied: Relay
        /// HAProxy's own CPU per thousand frames relayed while saturated.
        public var haproxyCpuMsPerThousand: Double
        public var resumeStorm: ResumeStorm
        public var audit: ClusterAudit
    }

    public struct ResumeStorm: Codable, Sendable {
        /// Calls the profile asks for (`joinStorm`), those set up through
        /// HAProxy (fewer if its open-files limit cannot hold them all), and
        /// how many of them the killed instance held.
        public var pairsWanted: Int
        public var pairs: Int
        public var pairsOnKilled: Int
        /// Participants of those calls (veileder and deltaker each) that resumed.
        public var participants: Int
        public var errors: Int
        /// Participants of the survivor's calls, checked still connected (a
        /// `ping` answered) afterwards, and how many were not.
        public var untouched: Int
        public var untouchedLost: Int
        /// Calls of the killed instance whose home the survivor holds afterwards.
        public var takenOver: Int
        /// From the SIGKILL until the last participant is back in its call
        /// (`welcome`, `admitted`, roster of two, its key announced again).
        public var secondsFromKill: Double
        /// From the SIGKILL until the first `welcome` of a taken-over call: the
        /// dead instance's lease running out, and the retry that follows it.
        public var firstWelcomeSeconds: Double
        /// From that first `welcome` until the last participant is back: the storm itself.
        public var secondsWithoutLease: Double
        /// Each participant's time from the SIGKILL until it is back.
        public var perClient: LatencySummary
        /// `moved` answers followed, and connections tried again, by all together.
        public var moves: Int
        public var retries: Int
        public var survivorCpuSeconds: Double
    }

    public struct ClusterAudit: Codable, Sendable {
        /// TransparencyLogs in the bench process, each on its own PostgresStore
        /// connection pool to one database, as two instances have them.
        public var logs: Int
        public var writers: Int
        public var appended: Int
        public var appendPerSec: Double
        /// `samrom audit verify --store postgres://…`, process start included.
        public var verifySeconds: Double
        public var verifyPerSec: Double
    }

    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}
