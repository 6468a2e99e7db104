import Foundation

/// Renders a report as the generated part of docs/benchmarks.md: the
/// results, the issue's targets as ratios from this one run, and the machine.
public enum BenchMarkdown {
    public static let begin = "<!-- bench:begin (written by `make bench`; edit outside these markers) -->"
    public static let end = "<!-- bench:end -->"

    /// `document` with the part between the markers replaced (or appended).
    public static func update(_ document: String, with report: BenchReport) -> String {
        let generated = begin + "\n" + render(report) + end
        if let start = document.range(of: begin), let stop = document.range(of: end, range: start.upperBound..<document.endIndex) {
            return document.replacingCharacters(in: start.lowerBound..<stop.upperBound, with: generated)
        }
        return document + (document.hasSuffix("\n") ? "\n" : "\n\n") + generated + "\n"
    }

    public struct Target: Sendable {
        public let what: String
        public let goal: String
        public let measured: String
        public let met: Bool?
    }

    /// The issue's targets, each checked against this run (nil: not measured).
    public static func targets(_ report: BenchReport) -> [Target] {
        var targets: [Target] = []
        let samrom = report.relay["samrom"], ceiling = report.relay["ceiling"], salty = report.relay["saltyrtc"]
        if let samrom, let ceiling {
            let ratio = samrom.msgsPerSec / ceiling.msgsPerSec
            targets.append(.init(what: "relay throughput vs bare-stack ceiling", goal: "≥ 0.8×", measured: x(ratio), met: ratio >= 0.8))
        }
        if let samrom, let salty {
            let ratio = samrom.msgsPerSec / salty.msgsPerSec
            targets.append(.init(what: "relay throughput vs SaltyRTC", goal: "≥ 5×", measured: x(ratio), met: ratio >= 5))
            targets.append(.init(
                what: "relay p99 latency vs SaltyRTC (fixed rate)", goal: "lower",
                measured: "\(ms(samrom.p99Ms)) vs \(ms(salty.p99Ms))", met: samrom.p99Ms < salty.p99Ms))
        }
        if let connections = report.connections["samrom"] {
            targets.append(.init(
                what: "memory per idle connection", goal: "≤ 20 KiB", measured: kib(connections.rssBytesPerConnection),
                met: connections.rssBytesPerConnection <= 20 * 1024))
            if let salty = report.connections["saltyrtc"] {
                targets.append(.init(
                    what: "memory per idle connection vs SaltyRTC", goal: "fewer bytes",
                    measured: "\(kib(connections.rssBytesPerConnection)) vs \(kib(salty.rssBytesPerConnection))",
                    met: connections.rssBytesPerConnection < salty.rssBytesPerConnection))
            }
            targets.append(.init(
                what: "concurrent connections held", goal: "≥ 20,000", measured: "\(connections.count)", met: connections.count >= 20_000))
        }
        if let storm = report.joinStorm["samrom"] {
            targets.append(.init(
                what: "join storm without errors", goal: "5,000 clients, 0 errors", measured: "\(storm.count) clients, \(storm.errors) errors",
                met: storm.count >= 5000 && storm.errors == 0))
        }
        if let chat = report.chat {
            targets.append(.init(what: "durable chat acks", goal: "≥ 5,000/s", measured: rate(chat.ackedPerSec), met: chat.ackedPerSec >= 5000))
        }
        if let audit = report.audit {
            targets.append(.init(
                what: "audit verify", goal: "≥ 1,000,000 entries/s", measured: rate(audit.verifyPerSec) + " over \(audit.appended) entries",
                met: audit.verifyPerSec >= 1_000_000))
        }
        return targets
    }

    static func render(_ r: BenchReport) -> String {
        var out = ""
        let m = r.machine
        out += "Run of \(m.date), profile `\(r.profile.name)`, commit `\(m.samromCommit)`: \(m.cores) cores, "
        out += "\(m.memoryBytes / (1 << 30)) GiB, \(m.kernel), \(m.swift); \(m.saltyrtc).\n\n"

        out += "### Targets (ratios from this one run)\n\n| target | goal | measured | |\n|---|---|---|---|\n"
        for target in targets(r) {
            out += "| \(target.what) | \(target.goal) | \(target.measured) | \(target.met.map { $0 ? "met" : "**not met**" } ?? "") |\n"
        }

        out += "\n### Relay (\(r.profile.relayRooms) rooms × 2 clients, sealed `signal` frames of offer/answer/ICE size)\n\n"
        out += "| server | saturated msgs/s | p50 / p99 / max at \(Int(r.profile.relayFixedRate))/s | p50 / p99 saturated | server CPU ms per 1,000 | server peak RSS |\n"
        out += "|---|---|---|---|---|---|\n"
        for (key, name) in [("samrom", "Samrom"), ("ceiling", "bare Hummingbird WS relay"), ("saltyrtc", "SaltyRTC 5.0.1")] {
            guard let relay = r.relay[key] else { continue }
            out += "| \(name) | \(rate(relay.msgsPerSec)) | \(ms(relay.p50Ms)) / \(ms(relay.p99Ms)) / \(ms(relay.maxMs)) | "
            out += "\(ms(relay.saturated.p50Ms)) / \(ms(relay.saturated.p99Ms)) | \(String(format: "%.1f", relay.serverCpuMsPerThousand)) | \(mib(relay.serverPeakRssBytes)) |\n"
        }

        out += "\n### Idle connections (held with WebSocket pings every 4 s)\n\n"
        out += "| server | connections | RSS per connection | RSS before → holding | set-up | CPU while idle |\n|---|---|---|---|---|---|\n"
        for (key, name) in [("samrom", "Samrom"), ("ceiling", "bare Hummingbird WS relay"), ("saltyrtc", "SaltyRTC 5.0.1")] {
            guard let c = r.connections[key] else { continue }
            out += "| \(name) | \(c.count) | \(kib(c.rssBytesPerConnection)) | \(mib(c.baselineRssBytes)) → \(mib(c.heldRssBytes)) | "
            out += "\(String(format: "%.1f", c.setupSeconds)) s | \(String(format: "%.1f", c.idleCpuPercent)) % |\n"
        }

        if let s = r.joinStorm["samrom"] {
            out += "\n### Join storm\n\n\(s.count) deltakere dropped at once, then all reconnecting with resume tokens at the same moment: "
            out += "all back in their calls after **\(String(format: "%.2f", s.seconds)) s**, \(s.errors) errors; "
            out += "per deltaker p50 \(ms(s.perClient.p50Ms)), p99 \(ms(s.perClient.p99Ms)), max \(ms(s.perClient.maxMs)); "
            out += "server CPU \(String(format: "%.1f", s.serverCpuSeconds)) s.\n"
        }
        if let c = r.chat {
            out += "\n### Durable chat\n\n\(c.pairs) pairs, \(r.profile.chatWindow) messages (2 sealed copies each) in flight per sender, fsync on: "
            out += "**\(rate(c.ackedPerSec)) acks/s**, ack latency p50 \(ms(c.ackP50Ms)), p99 \(ms(c.ackP99Ms)), max \(ms(c.ackMaxMs)); "
            out += "server CPU \(String(format: "%.1f", c.serverCpuMsPerThousand)) ms per 1,000 messages.\n"
        }
        if let a = r.audit {
            out += "\n### Audit\n\n\(a.appended) entries appended by \(r.profile.auditWriters) concurrent writers: **\(rate(a.appendPerSec)) entries/s** "
            out += "(each durable before its writer goes on). `samrom audit verify` over all of them: \(String(format: "%.2f", a.verifySeconds)) s, "
            out += "**\(rate(a.verifyPerSec)) entries/s** with process start and opening the store; the checking alone "
            out += "(as the command reports it) \(rate(a.verifierPerSec)) entries/s.\n"
        }
        return out
    }

    static func x(_ value: Double) -> String { String(format: "%.2f×", value) }
    static func ms(_ value: Double) -> String { String(format: "%.2f ms", value) }
    static func kib(_ bytes: Int) -> String { String(format: "%.1f KiB", Double(bytes) / 1024) }
    static func mib(_ bytes: Int) -> String { String(format: "%.0f MiB", Double(bytes) / 1_048_576) }
    static func rate(_ value: Double) -> String {
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.groupingSeparator = ","
        formatter.maximumFractionDigits = 0
        return formatter.string(from: NSNumber(value: value.rounded())) ?? "\(Int(value))"
    }
}
