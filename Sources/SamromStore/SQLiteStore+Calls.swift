import Foundation
import GRDB
import SamromCore
import Sodium

/// Call homes, stored seats and the route secret (issue 14). On SQLite there
/// is one instance, but the same rules as on PostgreSQL hold: a restarted
/// server is a new holder and takes its calls back with a new epoch.
///
/// A released home keeps its row, with no holder (`''`) and a lease that has
/// run out, so that a consultation's epochs only grow: the next claim gets
/// the next epoch, and a holder that released a call cannot write to the
/// call that follows it with the epoch it had.
extension SQLiteStore: CallStore {
    public func routeSecret() async throws -> [UInt8] {
        try Self.checked(try await firstStored("route", candidate: Random.bytes(RouteKey.secretLength)))
    }

    /// The same clock as this process's: SQLite runs inside it.
    public func databaseTime() async throws -> Date? { nil }

    /// The value stored under `name` in `clusterSecret`; if there is none
    /// and a candidate is given, the candidate, stored. The first one stored
    /// wins: every caller, in any process, reads that one.
    func firstStored(_ name: String, candidate: [UInt8]?) async throws -> Data? {
        if let stored = try await read({ try Self.stored(name, $0) }) { return stored }
        guard let candidate else { return nil }
        return try await write { db in
            try db.execute(
                sql: "INSERT INTO clusterSecret (name, secret) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                arguments: [name, Data(candidate)])
            return try Self.stored(name, db)
        }
    }

    public func claimHome(_ consultation: ConsultationID, instance: String, holder: String, lease: TimeInterval, now: Date) async throws
        -> HomeClaim
    {
        precondition(!holder.isEmpty, "a holder is never empty: '' marks a released home")
        let until = now.addingTimeInterval(lease).timeIntervalSince1970
        // The write transaction is exclusive: no other claim runs beside it.
        return try await groupedWrite { db in
            guard let row = try Row.fetchOne(
                db, sql: "SELECT instance, holder, epoch, leaseUntil FROM callHome WHERE consultationId = ?",
                arguments: [consultation.rawValue])
            else {
                try db.execute(
                    sql: "INSERT INTO callHome (consultationId, instance, holder, epoch, leaseUntil) VALUES (?, ?, ?, 1, ?)",
                    arguments: [consultation.rawValue, instance, holder, until])
                return .held(epoch: 1, takenOver: false)
            }
            let stored = StoredHome(
                instance: row["instance"], holder: row["holder"], epoch: row["epoch"],
                leaseUntil: Date(timeIntervalSince1970: row["leaseUntil"]))
            let claim = stored.claimed(byInstance: instance, holder: holder, now: now)
            if case .held(let epoch, _) = claim {
                try db.execute(
                    sql: "UPDATE callHome SET instance = ?, holder = ?, epoch = ?, leaseUntil = ? WHERE consultationId = ?",
                    arguments: [instance, holder, epoch, until, consultation.rawValue])
            }
            return claim
        }
    }

    public func renewHomes(_ homes: [ConsultationID: Int64], holder: String, lease: TimeInterval, now: Date) async throws
        -> Set<ConsultationID>
    {
        guard !homes.isEmpty else { return [] }
        let until = now.addingTimeInterval(lease).timeIntervalSince1970
        return try await groupedWrite { db in
            let renew = try db.cachedStatement(
                sql: "UPDATE callHome SET leaseUntil = ? WHERE consultationId = ? AND holder = ? AND epoch = ?")
            var lost: Set<ConsultationID> = []
            for (consultation, epoch) in homes {
                try renew.execute(arguments: [until, consultation.rawValue, holder, epoch])
                if db.changesCount == 0 { lost.insert(consultation) }
            }
            return lost
        }
    }

    public func releaseHome(_ consultation: ConsultationID, holder: String, epoch: Int64) async throws {
        try await groupedWrite { db in
            try db.execute(
                sql: """
                    UPDATE callHome SET instance = '', holder = '', leaseUntil = 0, waiting = 0, inCall = 0
                    WHERE consultationId = ? AND holder = ? AND epoch = ?
                    """,
                arguments: [consultation.rawValue, holder, epoch])
            guard db.changesCount == 1 else { return }
            try db.execute(sql: "DELETE FROM callSeat WHERE consultationId = ?", arguments: [consultation.rawValue])
        }
    }

    public func saveSeats(
        _ seats: [StoredSeat], presence: CallPresence, of consultation: ConsultationID, holder: String, epoch: Int64
    ) async throws -> Bool {
        try await groupedWrite { db in
            try db.execute(
                sql: "UPDATE callHome SET waiting = ?, inCall = ? WHERE consultationId = ? AND holder = ? AND epoch = ?",
                arguments: [presence.waiting, presence.inCall, consultation.rawValue, holder, epoch])
            guard db.changesCount == 1 else { return false }
            try db.execute(sql: "DELETE FROM callSeat WHERE consultationId = ?", arguments: [consultation.rawValue])
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO callSeat (consultationId, position, participant, role, resumeHash, lastKeyId)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """)
            for (position, seat) in seats.enumerated() {
                try insert.execute(arguments: [
                    consultation.rawValue, position, seat.participant.rawValue, seat.role.rawValue, Data(seat.resume.bytes),
                    seat.lastKeyId,
                ])
            }
            return true
        }
    }

    public func presence(of consultations: [ConsultationID], now: Date) async throws -> [ConsultationID: CallPresence] {
        guard !consultations.isEmpty else { return [:] }
        return try await read { db in
            var found: [ConsultationID: CallPresence] = [:]
            // In pages: SQLite limits the parameters of one statement.
            for page in stride(from: 0, to: consultations.count, by: 500) {
                let ids = consultations[page..<min(page + 500, consultations.count)].map(\.rawValue)
                let marks = Array(repeating: "?", count: ids.count).joined(separator: ", ")
                let rows = try Row.fetchAll(
                    db,
                    sql: "SELECT consultationId, waiting, inCall FROM callHome WHERE leaseUntil > ? AND consultationId IN (\(marks))",
                    arguments: StatementArguments([now.timeIntervalSince1970] + ids.map { $0 as any DatabaseValueConvertible }))
                for row in rows {
                    found[ConsultationID(rawValue: row["consultationId"])] = CallPresence(waiting: row["waiting"], inCall: row["inCall"])
                }
            }
            return found
        }
    }

    public func seats(of consultation: ConsultationID) async throws -> [StoredSeat] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT participant, role, resumeHash, lastKeyId FROM callSeat WHERE consultationId = ? ORDER BY position",
                arguments: [consultation.rawValue]
            ).map { row in
                guard let role = ParticipantRole(rawValue: row["role"]) else {
                    throw StorageError(.corrupt, "a stored seat has an unknown role")
                }
                return StoredSeat(
                    participant: ParticipantID(rawValue: row["participant"]), role: role,
                    resume: TokenHash(bytes: Array(row["resumeHash"] as Data)), lastKeyId: row["lastKeyId"])
            }
        }
    }

    public func consultation(resume: TokenHash) async throws -> ConsultationID? {
        try await read { db in
            guard let row = try Row.fetchOne(
                db, sql: "SELECT consultationId, resumeHash FROM callSeat WHERE resumeHash = ?", arguments: [Data(resume.bytes)])
            else { return nil }
            // The index found it; confirm in constant time anyway.
            guard TokenHash(bytes: Array(row["resumeHash"] as Data)).matches(resume) else { return nil }
            return ConsultationID(rawValue: row["consultationId"])
        }
    }

    private static func stored(_ name: String, _ db: Database) throws -> Data? {
        try Data.fetchOne(db, sql: "SELECT secret FROM clusterSecret WHERE name = ?", arguments: [name])
    }

    private static func checked(_ secret: Data?) throws -> [UInt8] {
        guard let secret, secret.count == RouteKey.secretLength else {
            throw StorageError(.corrupt, "the stored route secret is missing or not \(RouteKey.secretLength) bytes")
        }
        return Array(secret)
    }
}
