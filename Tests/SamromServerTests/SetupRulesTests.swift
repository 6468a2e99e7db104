import Foundation
import SamromServer
import SamromStore
import Testing

/// `samrom doctor`'s decisions at their edges; DoctorTests (SamromCLITests)
/// runs the command against real set-ups.
@Suite struct SetupRulesTests {
    let now = Date(timeIntervalSince1970: 1_796_000_000)  // 2026-11-29
    let day: TimeInterval = 86_400

    func certificate(notBefore: TimeInterval = -30, notAfter: TimeInterval, key: Bool = true, name: Bool = true, trust: String? = nil)
        -> SetupRules.CertificateFacts
    {
        .init(
            notBefore: now.addingTimeInterval(notBefore * day), notAfter: now.addingTimeInterval(notAfter * day),
            names: ["samrom.kommune.no"], keyMatches: key, nameMatches: name, trustProblem: trust)
    }

    func severities(_ findings: [DoctorFinding]) -> [DoctorFinding.Severity] { findings.map(\.severity) }

    @Test func certificates() {
        let host = "samrom.kommune.no"
        #expect(severities(SetupRules.certificate(certificate(notAfter: 60), publicHost: host, now: now)) == [.ok])
        #expect(severities(SetupRules.certificate(certificate(notAfter: 22), publicHost: host, now: now)) == [.ok])
        let soon = SetupRules.certificate(certificate(notAfter: 20), publicHost: host, now: now)
        #expect(severities(soon) == [.warning] && soon[0].message.contains("in 20 days"), "\(soon)")
        let expired = SetupRules.certificate(certificate(notAfter: -1), publicHost: host, now: now)
        #expect(severities(expired) == [.problem] && expired[0].message.contains("expired on 2026-11-28") || expired[0].message.contains("expired on 2026-11-29"), "\(expired)")
        let early = SetupRules.certificate(certificate(notBefore: 2, notAfter: 90), publicHost: host, now: now)
        #expect(severities(early) == [.problem] && early[0].message.contains("clock"), "\(early)")
        let everything = SetupRules.certificate(
            certificate(notAfter: 90, key: false, name: false, trust: "self-signed"), publicHost: "samrom.example", now: now)
        #expect(severities(everything) == [.problem, .problem, .problem], "\(everything)")
        #expect(everything[1].message.contains("it is not for samrom.example") && everything[1].message.contains("samrom.kommune.no"))
        // No certificate given: a problem with a public origin, a warning on a laptop.
        #expect(severities(SetupRules.certificate(nil, publicHost: host, now: now)) == [.problem])
        #expect(severities(SetupRules.certificate(nil, publicHost: nil, now: now)) == [.warning])
    }

    @Test func dataDirectoryModes() {
        let me = geteuid()
        func entry(_ name: String, _ mode: mode_t, wanted: mode_t = 0o600, owner: uid_t? = nil, secret: Bool = false) -> DataDirectory.Entry {
            .init(path: "/var/lib/samrom/" + name, mode: mode, wanted: wanted, owner: owner ?? me, isSecret: secret)
        }
        #expect(severities(SetupRules.dataDirectory("/var/lib/samrom", wrong: [], user: me)) == [.ok])
        #expect(severities(SetupRules.dataDirectory("/var/lib/samrom", wrong: nil, user: me)) == [.warning])
        let found = SetupRules.dataDirectory("/var/lib/samrom", wrong: [
            entry("samrom.sqlite", 0o644), entry("audit-signing.key", 0o640, secret: true), entry("tls", 0o500, wanted: 0o700),
            entry("other", 0o600, owner: me + 1),
        ], user: me)
        #expect(severities(found) == [.problem, .problem, .warning, .problem], "\(found)")
        #expect(found[0].message.contains("mode 0644") && found[0].message.contains("chmod 0600"))
        #expect(found[1].message.contains("refuses to start"))
        #expect(found[3].message.contains("user id \(me + 1)"))
        // Many files: five named, the rest counted, as bad as the worst of them.
        let many = SetupRules.dataDirectory("/d", wrong: (0..<8).map { entry("f\($0)", $0 < 6 ? 0o400 : 0o644) }, user: me)
        #expect(many.count == 6 && many[5].severity == .problem && many[5].message.contains("3 more"), "\(many)")
    }

    @Test func clocks() {
        let lease: TimeInterval = 10
        func clock(latest: TimeInterval? = nil, database: TimeInterval? = nil, synced: Bool? = true) -> [DoctorFinding] {
            SetupRules.clock(.init(
                now: now, latestAuditEntry: latest.map { now.addingTimeInterval($0) }, databaseTime: database.map { now.addingTimeInterval($0) },
                kernelSynchronised: synced, homeLease: lease))
        }
        #expect(severities(clock()) == [.ok])
        #expect(severities(clock(synced: false)) == [.warning])
        #expect(severities(clock(synced: nil)) == [.ok])
        #expect(severities(clock(latest: 59)) == [.ok])
        #expect(severities(clock(latest: 3600)) == [.problem, .ok])
        #expect(severities(clock(database: 0.2)) == [.ok, .ok])
        #expect(severities(clock(database: -1.5)) == [.warning, .ok])
        let skewed = clock(database: 3)
        #expect(severities(skewed) == [.problem, .ok] && skewed[0].message.contains("3.0 s"), "\(skewed)")
        let past = SetupRules.clock(.init(
            now: Date(timeIntervalSince1970: 0), latestAuditEntry: nil, databaseTime: nil, kernelSynchronised: nil, homeLease: lease))
        #expect(severities(past) == [.problem])
    }

    @Test func diskRetentionOriginAndTURN() {
        let gib: UInt64 = 1 << 30
        #expect(severities(SetupRules.disk(path: "/d", free: 50 * gib, total: 100 * gib, minimumFree: gib)) == [.ok])
        #expect(severities(SetupRules.disk(path: "/d", free: 5 * gib, total: 100 * gib, minimumFree: gib)) == [.warning])
        #expect(severities(SetupRules.disk(path: "/d", free: gib / 2, total: 100 * gib, minimumFree: gib)) == [.problem])
        #expect(severities(SetupRules.retention(chatDays: 30, auditDays: 1826)) == [.ok])
        #expect(severities(SetupRules.retention(chatDays: 400, auditDays: 90)) == [.warning, .warning])
        #expect(severities(SetupRules.publicOrigin(nil)) == [.problem])
        #expect(severities(SetupRules.publicOrigin("https://samrom.kommune.no")) == [.ok])
        #expect(severities(SetupRules.turn([], relayOnly: false)) == [.warning])
        let turn = SetupRules.turn([("turn:a", true, ""), ("turns:b", false, "the secret is wrong")], relayOnly: true)
        #expect(severities(turn) == [.ok, .problem] && turn[1].message == "turns:b: the secret is wrong", "\(turn)")
    }
}
