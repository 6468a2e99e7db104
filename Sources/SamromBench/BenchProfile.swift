/// How big a run is. `quick` fits in a few minutes; `full` is what
/// docs/benchmarks.md reports; `tiny` only proves the code runs (unit test).
public struct BenchProfile: Codable, Sendable, Equatable {
    public var name: String
    /// Relay: rooms of two clients, frames in flight per direction when
    /// saturating, seconds measured (after a warm-up of a fifth of that), and
    /// the total frame rate of the fixed-rate latency run.
    public var relayRooms: Int
    public var relayWindow: Int
    public var relaySeconds: Double
    public var relayFixedRate: Double
    /// Idle authenticated connections held (in pairs), and for how long.
    public var connections: Int
    public var connectionHoldSeconds: Double
    /// Deltakere reconnecting at once with their resume tokens.
    public var joinStorm: Int
    /// Chat: pairs, envelopes in flight per sender, seconds measured.
    public var chatPairs: Int
    public var chatWindow: Int
    public var chatSeconds: Double
    /// Audit entries appended (by this many concurrent writers), then verified.
    public var auditEntries: Int
    public var auditWriters: Int
    /// Audit entries appended through two PostgreSQL-backed logs (the
    /// `cluster` scenario), by `auditWriters` writers: fewer than
    /// `auditEntries`, to keep the run short (each instance's batch waits
    /// for the other's commit, one WAL fsync each: 5,000–14,000 entries/s here).
    public var clusterAuditEntries: Int
    /// How many connections are set up at once.
    public var setupConcurrency: Int

    public static let tiny = BenchProfile(
        name: "tiny", relayRooms: 2, relayWindow: 4, relaySeconds: 0.5, relayFixedRate: 50, connections: 8,
        connectionHoldSeconds: 0.5, joinStorm: 4, chatPairs: 2, chatWindow: 2, chatSeconds: 0.5, auditEntries: 500,
        auditWriters: 8, clusterAuditEntries: 200, setupConcurrency: 4)

    public static let quick = BenchProfile(
        name: "quick", relayRooms: 50, relayWindow: 16, relaySeconds: 5, relayFixedRate: 1000, connections: 2000,
        connectionHoldSeconds: 5, joinStorm: 500, chatPairs: 50, chatWindow: 8, chatSeconds: 5, auditEntries: 200_000,
        auditWriters: 64, clusterAuditEntries: 50_000, setupConcurrency: 32)

    /// 19,500 connections: this machine's hard limit on open files per
    /// process is 20,000, and the server needs a few for itself.
    public static let full = BenchProfile(
        name: "full", relayRooms: 200, relayWindow: 16, relaySeconds: 20, relayFixedRate: 2000, connections: 19_500,
        connectionHoldSeconds: 10, joinStorm: 5000, chatPairs: 100, chatWindow: 8, chatSeconds: 20,
        auditEntries: 1_000_000, auditWriters: 64, clusterAuditEntries: 200_000, setupConcurrency: 64)

    public static func named(_ name: String) -> BenchProfile? {
        [tiny, quick, full].first { $0.name == name }
    }
}
