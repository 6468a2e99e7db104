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
        if let cluster = report.cluster {
            let proxied = cluster.relayProxied, direct = cluster.relayDirect
            let throughput = proxied.msgsPerSec / max(direct.msgsPerSec, 1)
            targets.append(.init(
                what: "relay throughput through HAProxy (2 instances) vs 1 instance direct", goal: "≥ 0.8×",
                measured: "\(x(throughput)) (\(rate(proxied.msgsPerSec)) vs \(rate(direct.msgsPerSec)) msgs/s)", met: throughput >= 0.8))
            let p99 = proxied.p99Ms / max(direct.p99Ms, 0.001)
            targets.append(.init(
                what: "relay p99 through HAProxy vs direct (fixed rate)", goal: "≤ 1.5×",
                measured: "\(x(p99)) (\(ms(proxied.p99Ms)) vs \(ms(direct.p99Ms)))", met: p99 <= 1.5))
            let storm = cluster.resumeStorm
            let clean = storm.errors == 0 && storm.untouchedLost == 0
            if let single = report.joinStorm["samrom"] {
                let ratio = storm.secondsWithoutLease / max(single.seconds, 0.001)
                targets.append(.init(
                    what: "resume storm onto the survivor vs single-process join storm (lease wait excluded)", goal: "≤ 1.5×, 0 errors",
                    measured: "\(x(ratio)) (\(secs(storm.secondsWithoutLease)) vs \(secs(single.seconds))), \(storm.errors) errors",
                    met: ratio <= 1.5 && clean))
            } else {
                targets.append(.init(
                    what: "resume storm onto the survivor, errors", goal: "0 errors",
                    measured: "\(storm.participants) participants, \(storm.errors) errors, \(storm.untouchedLost) untouched lost", met: clean))
            }
            targets.append(.init(
                what: "audit appends with two instances (PostgreSQL, durable)", goal: "≥ 5,000/s", measured: rate(cluster.audit.appendPerSec),
                met: cluster.audit.appendPerSec >= 5000))
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
        if let c = r.cluster { out += renderCluster(c, r) }
        return out
    }

    static func renderCluster(_ c: BenchReport.Cluster, _ r: BenchReport) -> String {
        var out = "\n### Two instances on PostgreSQL behind HAProxy\n\n"
        out += "`samrom-a` and `samrom-b` (`samrom serve --store postgres://… --home-lease \(c.homeLeaseSeconds) --trusted-proxy 127.0.0.1`) "
        out += "on one database of \(c.postgres) (fsync and `synchronous_commit` on), behind \(c.haproxy) with `deploy/haproxy.cfg` "
        out += "(TLS from the clients and again to the instances; open-files limit \(c.haproxyOpenFiles)); everything, the load generator "
        out += "included, on this machine.\n\n"

        out += "Relay, \(r.profile.relayRooms) rooms × 2 clients as above: one instance straight, then through HAProxy "
        out += "(HTTP API and `/ws?r=ROUTE`), the rooms spread over both instances by their route keys.\n\n"
        out += "| path | saturated msgs/s | p50 / p99 / max at \(Int(r.profile.relayFixedRate))/s | p50 / p99 saturated | "
        out += "instances' CPU ms per 1,000 | HAProxy CPU ms per 1,000 |\n|---|---|---|---|---|---|\n"
        func row(_ name: String, _ relay: BenchReport.Relay, _ proxy: String) -> String {
            "| \(name) | \(rate(relay.msgsPerSec)) | \(ms(relay.p50Ms)) / \(ms(relay.p99Ms)) / \(ms(relay.maxMs)) | "
                + "\(ms(relay.saturated.p50Ms)) / \(ms(relay.saturated.p99Ms)) | \(String(format: "%.1f", relay.serverCpuMsPerThousand)) | \(proxy) |\n"
        }
        out += row("samrom-a direct (PostgreSQL store)", c.relayDirect, "–")
        out += row("through HAProxy, 2 instances", c.relayProxied, String(format: "%.1f", c.haproxyCpuMsPerThousand))
        if let single = r.relay["samrom"] { out += row("Samrom alone on SQLite (relay above)", single, "–") }

        let s = c.resumeStorm
        out += "\nResume storm: \(s.pairs) calls set up through HAProxy"
        if s.pairs < s.pairsWanted {
            out += " (not \(s.pairsWanted): HAProxy's limit of \(c.haproxyOpenFiles) open files holds about "
            out += "\(c.haproxyOpenFiles / 2) connections, two per call)"
        }
        out += ", \(s.pairsOnKilled) of them on the instance then killed "
        out += "with SIGKILL; their \(s.participants) participants (veileder with its session cookie, deltaker) came back through "
        out += "HAProxy with `hello {resume}`, following `moved` as the browser does (\(s.moves) followed, \(s.retries) connections tried "
        out += "again), into the same seats with `admitted`, a roster of two and their keys announced again. First `welcome` of a "
        out += "taken-over call \(secs(s.firstWelcomeSeconds)) after the kill (the dead instance's lease running out); the last "
        out += "participant back **\(secs(s.secondsFromKill)) after the kill**, **\(secs(s.secondsWithoutLease)) after that first "
        out += "welcome**; \(s.errors) errors; \(s.takenOver) of \(s.pairsOnKilled) calls held by the survivor afterwards; the survivor's "
        out += "own \(s.untouched) participants still connected (\(s.untouchedLost) lost). Per participant from the kill: p50 "
        out += "\(ms(s.perClient.p50Ms)), p99 \(ms(s.perClient.p99Ms)), max \(ms(s.perClient.maxMs)); survivor CPU "
        out += "\(String(format: "%.1f", s.survivorCpuSeconds)) s."
        if let single = r.joinStorm["samrom"] {
            out += " The single-process join storm of this run (\(single.count) deltakere): \(secs(single.seconds)); the storm "
            out += "without the lease wait takes \(x(s.secondsWithoutLease / max(single.seconds, 0.001))) that, with it "
            out += "\(x(s.secondsFromKill / max(single.seconds, 0.001)))."
        }
        out += "\n"

        let a = c.audit
        out += "\nAudit: \(a.appended) entries appended by \(a.writers) concurrent writers through \(a.logs) transparency logs, "
        out += "each on its own connection pool to the database as two instances have them, one signing key, checkpoints asked "
        out += "for every second by both: **\(rate(a.appendPerSec)) entries/s** (each committed before its writer goes on). "
        out += "`samrom audit verify --store postgres://…` found the log intact in \(String(format: "%.2f", a.verifySeconds)) s "
        out += "(\(rate(a.verifyPerSec)) entries/s with process start).\n"
        return out
    }

    static func secs(_ value: Double) -> String { String(format: "%.2f s", value) }

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
