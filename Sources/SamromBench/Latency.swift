import Histogram

/// Latencies in microseconds, in an HdrHistogram (3 significant digits,
/// 1 µs to 60 s). One per task while measuring, merged at the end.
struct Latency: Sendable {
    private(set) var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)

    mutating func record(nanos: UInt64) {
        _ = histogram.record(max(1, min(nanos / 1000, 60_000_000)))
    }

    mutating func add(_ other: Latency) { histogram.add(other.histogram) }

    var count: UInt64 { histogram.totalCount }

    func milliseconds(atPercentile percentile: Double) -> Double {
        count == 0 ? 0 : Double(histogram.valueAtPercentile(percentile)) / 1000
    }

    var summary: LatencySummary {
        LatencySummary(
            p50Ms: milliseconds(atPercentile: 50), p99Ms: milliseconds(atPercentile: 99),
            maxMs: count == 0 ? 0 : Double(histogram.max) / 1000, samples: Int(count))
    }
}

/// What a report says about a latency distribution.
public struct LatencySummary: Codable, Sendable, Equatable {
    public var p50Ms: Double
    public var p99Ms: Double
    public var maxMs: Double
    public var samples: Int
}
