import Foundation
import SamromCore
import SamromStore

/// The personvernombud's access to the audit log, and a deltaker's own
/// access report. Every use is itself logged, with its stated purpose,
/// before anything is read; anyone but a personvernombud is refused, and
/// that attempt is logged too.
public struct AuditService: Sendable {
    let store: any SamromStorage
    let log: TransparencyLog
    let auditor: Auditor
    let clock: WallClock

    public init(store: any SamromStorage, log: TransparencyLog, auditor: Auditor, clock: WallClock) {
        self.store = store
        self.log = log
        self.auditor = auditor
        self.clock = clock
    }

    public struct Refused: Error, Equatable {}

    /// Longest stated purpose kept in the log.
    public static let maxPurposeLength = 500

    /// Lets a personvernombud in for `action`, recording why; refuses and
    /// records anyone else.
    /// `searched` says what is read (a search's filter, "the whole log");
    /// a search for one consultation is recorded against that consultation,
    /// so it shows in that deltaker's access report.
    public func authorize(
        _ account: Account, _ action: AuditAction, purpose: String, searched: String? = nil,
        consultation: ConsultationID? = nil, clientIP: String?
    ) async throws {
        guard account.role == .privacyOfficer else {
            try await auditor.record(
                action, actor: .user(account), consultation: consultation, outcome: .denied,
                reason: "only a personvernombud may use the audit log", clientIP: clientIP)
            throw Refused()
        }
        let reason = searched.map { "\(purpose) (searched: \($0))" } ?? purpose
        try await auditor.record(
            action, actor: .user(account), consultation: consultation, outcome: .allowed, reason: reason, clientIP: clientIP)
    }

    /// One page of matching entries, and whether there are more.
    public func search(_ filter: AuditFilter, limit: Int) async throws -> (entries: [AuditRecord], more: Bool) {
        let found = try await store.auditRecords(matching: filter, limit: limit + 1)
        return (Array(found.prefix(limit)), found.count > limit)
    }

    public func verify() async throws -> AuditVerifier.Report {
        try await AuditVerifier.verify(store: store, verifier: log.verifier)
    }

    // MARK: A deltaker's own view (pasientjournalloven §18)

    public struct AccessReport: Sendable {
        public struct Access: Sendable {
            public var at: Date
            public var action: String
            public var outcome: String
            /// `veileder`, `deltaker`, `privacy-officer`, `admin` or `system`.
            public var role: String
            /// The veileder's username; nobody else is named.
            public var name: String?
        }
        public var consultation: Consultation
        public var accesses: [Access]
    }

    /// Who accessed the consultation whose *current* deltaker link is
    /// `token`, and when: roles (a tolk shows as `tolk`) and veileder names,
    /// never addresses, ids, display names or anyone's other consultations.
    /// Nil when the link is not a valid deltaker link.
    public func accessReport(token: JoinToken, clientIP: String?) async throws -> AccessReport? {
        guard let (consultation, role) = try await store.consultation(linkHash: token.hash), role == .deltaker else { return nil }
        try await auditor.record(
            .accessReport, actor: AuditActor(kind: .anonymous, id: nil, role: ParticipantRole.deltaker.rawValue),
            consultation: consultation.id, outcome: .allowed,
            reason: "the deltaker's own report of who accessed the consultation", clientIP: clientIP)
        var accesses: [AccessReport.Access] = []
        var names: [String: String] = [:]
        var after: UInt64?
        while true {
            let page = try await store.auditRecords(
                matching: AuditFilter(consultation: consultation.id, afterSeq: after), limit: 1000)
            for record in page {
                guard let entry = try record.entry() else { continue }
                let actor = entry.event.actor
                var role = actor.role ?? actor.kind.rawValue
                var name: String?
                if actor.kind == .user, let id = actor.id {
                    if let known = names[id] {
                        name = known
                    } else if let raw = Int64(id), let account = try await store.account(id: AccountID(rawValue: raw)) {
                        role = account.role.rawValue
                        if account.role == .veileder {
                            name = account.username
                            names[id] = account.username
                        }
                    }
                }
                accesses.append(.init(
                    at: entry.event.at, action: entry.event.action.rawValue, outcome: entry.event.outcome.rawValue,
                    role: role, name: name))
            }
            guard page.count == 1000, let last = page.last else { break }
            after = last.seq
        }
        return AccessReport(consultation: consultation, accesses: accesses)
    }
}
