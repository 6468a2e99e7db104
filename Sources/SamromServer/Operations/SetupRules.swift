import Foundation
import SamromCore
import SamromStore

/// What `samrom doctor` decides, from facts gathered elsewhere (files, the
/// store, the network, the kernel): each rule returns what to say. The
/// thresholds live here and nowhere else.
public enum SetupRules {
    // MARK: The certificate

    public struct CertificateFacts: Sendable, Equatable {
        public var notBefore: Date
        public var notAfter: Date
        /// The names and addresses it is for (subject alternative names).
        public var names: [String]
        public var keyMatches: Bool
        /// Whether it is for the public host (a browser's name check).
        public var nameMatches: Bool
        /// Why a browser would not trust the chain (no chain to a trusted
        /// root, a bad signature), or nil when it verifies.
        public var trustProblem: String?

        public init(notBefore: Date, notAfter: Date, names: [String], keyMatches: Bool, nameMatches: Bool, trustProblem: String?) {
            self.notBefore = notBefore
            self.notAfter = notAfter
            self.names = names
            self.keyMatches = keyMatches
            self.nameMatches = nameMatches
            self.trustProblem = trustProblem
        }
    }

    /// Renew before this; certbot renews 30 days ahead, so a certificate this
    /// close to its end means renewal has failed.
    public static let certificateRenewalMargin: TimeInterval = 21 * 86_400

    /// `facts` is nil when no `--tls-cert` is given (the development or a
    /// self-signed certificate is used).
    public static func certificate(_ facts: CertificateFacts?, publicHost: String?, now: Date) -> [DoctorFinding] {
        guard let facts else {
            guard let publicHost else {
                return [.warning(.certificate, "no --tls-cert and --tls-key: the development certificate is used, which only this machine trusts")]
            }
            return [.problem(.certificate, "no --tls-cert and --tls-key: browsers would refuse the development certificate for \(publicHost)")]
        }
        var findings: [DoctorFinding] = []
        if !facts.keyMatches {
            findings.append(.problem(.certificate, "--tls-key is not the key of the certificate in --tls-cert"))
        }
        let days = Int((facts.notAfter.timeIntervalSince(now) / 86_400).rounded(.down))
        if now < facts.notBefore {
            findings.append(.problem(.certificate, "it is not valid before \(day(facts.notBefore)): is this machine's clock right?"))
        } else if now >= facts.notAfter {
            findings.append(.problem(.certificate, "it expired on \(day(facts.notAfter)): renew it and restart the server"))
        } else if facts.notAfter.timeIntervalSince(now) < certificateRenewalMargin {
            findings.append(.warning(.certificate, "it expires on \(day(facts.notAfter)), in \(days) days: renewal has not happened; check it"))
        }
        let names = facts.names.isEmpty ? "no names" : facts.names.joined(separator: ", ")
        let host = publicHost ?? "localhost"
        if !facts.nameMatches {
            findings.append(.problem(.certificate, "it is not for \(host), so browsers would refuse it: it is for \(names)"))
        }
        if let problem = facts.trustProblem {
            findings.append(.problem(.certificate, "browsers would not trust it: \(problem). A certificate from a public CA "
                + "(e.g. Let's Encrypt) with its intermediates in --tls-cert is trusted"))
        }
        if findings.isEmpty {
            findings.append(.ok(.certificate, "valid until \(day(facts.notAfter)) (\(days) days), trusted, for \(host) (it is for \(names))"))
        }
        return findings
    }

    // MARK: The data directory

    /// At most this many files are named one by one.
    static let namedEntries = 5

    /// `wrong` is what `DataDirectory.inspect` found; nil when the directory
    /// does not exist yet.
    public static func dataDirectory(_ path: String, wrong: [DataDirectory.Entry]?, user: uid_t) -> [DoctorFinding] {
        guard let wrong else {
            return [.warning(.dataDirectory, "\(path) does not exist yet: the server makes it (mode 0700) at its first start")]
        }
        guard !wrong.isEmpty else {
            return [.ok(.dataDirectory, "\(path): only its owner may enter it (0700, files 0600)")]
        }
        var findings = wrong.prefix(namedEntries).map { entry -> DoctorFinding in
            let mode = DataDirectory.octal(entry.mode), wanted = DataDirectory.octal(entry.wanted)
            if entry.owner != user {
                return .problem(.dataDirectory, "\(entry.path) belongs to user id \(entry.owner), not to the user running this (\(user)): "
                    + "run samrom doctor as the server's user, or chown the data directory to it")
            }
            if entry.isSecret, entry.mode & 0o077 != 0 {
                return .problem(.dataDirectory, "\(entry.path) has mode \(mode): group or others could read the key, and the server "
                    + "refuses to start. If nobody could have copied it, chmod 600 it; otherwise start afresh (docs/municipality/drift.md)")
            }
            if entry.mode & 0o077 != 0 {
                return .problem(.dataDirectory, "\(entry.path) has mode \(mode): group or others may read it. chmod \(wanted) it "
                    + "(the server corrects it at start, but a copy may already have been made)")
            }
            return .warning(.dataDirectory, "\(entry.path) has mode \(mode); the server sets \(wanted) at start")
        }
        if wrong.count > namedEntries {
            let worst = wrong.dropFirst(namedEntries).contains { $0.owner != user || $0.mode & 0o077 != 0 } ? DoctorFinding.Severity.problem : .warning
            findings.append(.init(.dataDirectory, worst, "and \(wrong.count - namedEntries) more files like these"))
        }
        return findings
    }

    // MARK: The public origin

    public static func publicOrigin(_ origin: String?) -> [DoctorFinding] {
        guard let origin else {
            return [.problem(.publicOrigin, "--public-origin is not set: join links and Origin checks would follow each request's "
                + "Host header. Set it to the address people use, e.g. --public-origin https://samrom.kommune.no")]
        }
        return [.ok(.publicOrigin, "join links begin with \(origin)/j/")]
    }

    // MARK: Retention

    /// Shorter than this, a personvernombud cannot review last year's access.
    public static let shortestAuditRetentionDays = 365
    /// Longer than this, sealed chat is kept beyond any need.
    public static let longestChatRetentionDays = 365

    public static func retention(chatDays: Int, auditDays: Int) -> [DoctorFinding] {
        var findings: [DoctorFinding] = []
        if auditDays < shortestAuditRetentionDays {
            findings.append(.warning(.retention, "audit entries lose their content after \(auditDays) days: a personvernombud "
                + "cannot review older access (the default is 1826 days, five years)"))
        }
        if chatDays > longestChatRetentionDays {
            findings.append(.warning(.retention, "sealed chat is kept \(chatDays) days after a consultation ends: keep it no "
                + "longer than needed (the default is 30 days)"))
        }
        if findings.isEmpty {
            findings.append(.ok(.retention, "chat is deleted \(chatDays) days after a consultation ends; audit entries lose "
                + "their content after \(auditDays) days"))
        }
        return findings
    }

    // MARK: The clock

    /// Before this the clock cannot be right: this release did not exist.
    public static let earliestPlausibleTime = Date(timeIntervalSince1970: 1_764_547_200)  // 2025-12-01
    /// The log's latest entry may be this far ahead (another instance's clock) before it says the clock went back.
    public static let auditClockTolerance: TimeInterval = 60

    public struct ClockFacts: Sendable, Equatable {
        public var now: Date
        /// The time of the audit log's latest entry, if any.
        public var latestAuditEntry: Date?
        /// The database server's clock (PostgreSQL), read at `now`.
        public var databaseTime: Date?
        /// What the kernel says of NTP synchronisation, when it can be asked.
        public var kernelSynchronised: Bool?
        public var homeLease: TimeInterval

        public init(now: Date, latestAuditEntry: Date?, databaseTime: Date?, kernelSynchronised: Bool?, homeLease: TimeInterval) {
            self.now = now
            self.latestAuditEntry = latestAuditEntry
            self.databaseTime = databaseTime
            self.kernelSynchronised = kernelSynchronised
            self.homeLease = homeLease
        }
    }

    public static func clock(_ facts: ClockFacts) -> [DoctorFinding] {
        var findings: [DoctorFinding] = []
        if facts.now < earliestPlausibleTime {
            findings.append(.problem(.clock, "the clock says \(day(facts.now)), before this release existed: set it (NTP)"))
        }
        if let latest = facts.latestAuditEntry, latest.timeIntervalSince(facts.now) > auditClockTolerance {
            findings.append(.problem(.clock, "the clock is \(Int(latest.timeIntervalSince(facts.now))) s behind the audit log's "
                + "latest entry: was it set back? New entries would be dated before older ones"))
        }
        if let database = facts.databaseTime {
            let skew = abs(database.timeIntervalSince(facts.now))
            // A lease is renewed every third of it; a quarter of it is as far as clocks may differ.
            let allowed = facts.homeLease / 4
            let shown = skew < 1 ? "\(Int(skew * 1000)) ms" : String(format: "%.1f s", skew)
            if skew > allowed {
                findings.append(.problem(.clock, "this machine's clock and the database's differ by \(shown): call homes' leases "
                    + "(--home-lease \(Int(facts.homeLease)) s) need them within \(String(format: "%.1f", allowed)) s. Synchronise both with NTP"))
            } else if skew > 1 {
                findings.append(.warning(.clock, "this machine's clock and the database's differ by \(shown): synchronise both with NTP"))
            } else {
                findings.append(.ok(.clock, "agrees with the database's within \(shown)"))
            }
        }
        switch facts.kernelSynchronised {
        case false?:
            findings.append(.warning(.clock, "the kernel reports the clock as not synchronised: TURN credentials, certificates, "
                + "the log's times and call leases depend on it. Run an NTP client (systemd-timesyncd or chrony)"))
        case true?:
            findings.append(.ok(.clock, "synchronised (NTP)"))
        case nil:
            break
        }
        if findings.isEmpty { findings.append(.ok(.clock, "\(day(facts.now)) is plausible")) }
        return findings
    }

    // MARK: Disk space

    public static let defaultMinimumFreeBytes: UInt64 = 1 << 30

    public static func disk(path: String, free: UInt64, total: UInt64, minimumFree: UInt64) -> [DoctorFinding] {
        let shown = "\(size(free)) free of \(size(total))"
        if free < minimumFree {
            return [.problem(.disk, "\(shown) where \(path) is, less than \(size(minimumFree)): the database and the audit log "
                + "stop taking writes when it is full")]
        }
        if total > 0, free * 10 < total {
            return [.warning(.disk, "\(shown) where \(path) is: less than a tenth")]
        }
        return [.ok(.disk, shown + " where \(path) is")]
    }

    // MARK: TURN

    /// `allocations` has one line per configured URL: whether a relay was
    /// allocated with the configured secret, and else why not.
    public static func turn(_ allocations: [(url: String, allocated: Bool, reason: String)], relayOnly: Bool) -> [DoctorFinding] {
        guard !allocations.isEmpty else {
            return [.warning(.turn, "no TURN relay (--turn-url): calls fail between networks that allow no direct traffic, "
                + "as many mobile and workplace networks do (docs/coturn.md)")]
        }
        return allocations.map { line in
            line.allocated
                ? .ok(.turn, "\(line.url): a relay was allocated with the configured secret" + (relayOnly ? " (every call goes through it)" : ""))
                : .problem(.turn, "\(line.url): \(line.reason)")
        }
    }

    // MARK: Words

    static func day(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt).year().month().day())
    }

    static func size(_ bytes: UInt64) -> String {
        bytes >= 10 << 30 ? "\(bytes >> 30) GiB" : String(format: "%.1f GiB", Double(bytes) / Double(1 << 30))
    }
}
