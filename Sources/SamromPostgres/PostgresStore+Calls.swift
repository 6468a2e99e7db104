import Foundation
import PostgresNIO
import SamromCore
import Sodium

/// Call homes, stored seats and the route secret, shared by every instance
/// (issue 14). A claim, a seat save and a release each lock the home's row
/// (a claim inserts it first if there is none), so they happen one at a
/// time per consultation, on any number of instances.
///
/// A released home keeps its row, with no holder (`''`) and a lease that has
/// run out, so that a consultation's epochs only grow: the next claim gets
/// the next epoch, and a holder that released a call cannot write to the
/// call that follows it with the epoch it had.
extension PostgresStore: CallStore {
    public func routeSecret() async throws -> [UInt8] {
        guard let secret = try await firstStored("route", candidate: Random.bytes(RouteKey.secretLength)),
            secret.count == RouteKey.secretLength
        else { throw StorageError(.corrupt, "the stored route secret is missing or not \(RouteKey.secretLength) bytes") }
        return secret
    }

    public func databaseTime() async throws -> Date? {
        guard let row = try await access.rows("SELECT extract(epoch FROM clock_timestamp())::float8", "reading the clock").first
        else { return nil }
        return Date(timeIntervalSince1970: try row.decode(Double.self))
    }

    /// The value stored under `name` in `cluster_secret`; if there is none
    /// and a candidate is given, the candidate, stored. The first one stored
    /// wins: every caller, on every instance, reads that one.
    func firstStored(_ name: String, candidate: [UInt8]?) async throws -> [UInt8]? {
        if let stored = try await stored(name) { return stored }
        guard let candidate else { return nil }
        try await access.execute(
            "INSERT INTO cluster_secret (name, secret) VALUES (\(name), \(ByteBuffer(bytes: candidate))) ON CONFLICT (name) DO NOTHING",
            "storing \(name)")
        return try await stored(name)
    }

    public func claimHome(_ consultation: ConsultationID, instance: String, holder: String, lease: TimeInterval, now: Date) async throws
        -> HomeClaim
    {
        precondition(!holder.isEmpty, "a holder is never empty: '' marks a released home")
        let until = now.addingTimeInterval(lease).timeIntervalSince1970
        let logger = access.logger
        return try await access.transaction("claiming a call's home") { connection in
            // No row: this one makes it. A row being made by a concurrent
            // claim: this waits for its commit and inserts nothing.
            let inserted = try await connection.query(
                """
                INSERT INTO call_home (consultation_id, instance, holder, epoch, lease_until)
                VALUES (\(consultation.rawValue), \(instance), \(holder), 1, \(until))
                ON CONFLICT (consultation_id) DO NOTHING RETURNING epoch
                """,
                logger: logger
            ).collect()
            if !inserted.isEmpty { return .held(epoch: 1, takenOver: false) }
            // The row, locked until the commit: claims decide one at a time.
            guard let row = try await connection.query(
                """
                SELECT instance, holder, epoch, lease_until FROM call_home
                WHERE consultation_id = \(consultation.rawValue) FOR UPDATE
                """,
                logger: logger
            ).collect().first else {
                // Homes are never deleted but with their consultation.
                throw StorageError(.conflict, "claiming a call's home: the consultation is gone")
            }
            let (storedInstance, storedHolder, epoch, leaseUntil) = try row.decode((String, String, Int64, Double).self)
            let stored = StoredHome(
                instance: storedInstance, holder: storedHolder, epoch: epoch, leaseUntil: Date(timeIntervalSince1970: leaseUntil))
            let claim = stored.claimed(byInstance: instance, holder: holder, now: now)
            if case .held(let epoch, _) = claim {
                try await connection.query(
                    """
                    UPDATE call_home SET instance = \(instance), holder = \(holder), epoch = \(epoch), lease_until = \(until)
                    WHERE consultation_id = \(consultation.rawValue)
                    """,
                    logger: logger)
            }
            return claim
        }
    }

    public func renewHomes(_ homes: [ConsultationID: Int64], holder: String, lease: TimeInterval, now: Date) async throws
        -> Set<ConsultationID>
    {
        guard !homes.isEmpty else { return [] }
        let until = now.addingTimeInterval(lease).timeIntervalSince1970
        let pairs = Array(homes)
        let renewed = try await access.rows(
            """
            UPDATE call_home AS h SET lease_until = \(until)
            FROM unnest(\(pairs.map(\.key.rawValue))::text[], \(pairs.map(\.value))::bigint[]) AS r (consultation_id, epoch)
            WHERE h.consultation_id = r.consultation_id AND h.epoch = r.epoch AND h.holder = \(holder)
            RETURNING h.consultation_id
            """,
            "renewing call homes")
        let kept = try Set(renewed.map { try ConsultationID(rawValue: $0.decode(String.self)) })
        return Set(homes.keys).subtracting(kept)
    }

    public func releaseHome(_ consultation: ConsultationID, holder: String, epoch: Int64) async throws {
        let logger = access.logger
        try await access.transaction("releasing a call's home") { connection in
            let released = try await connection.query(
                """
                UPDATE call_home SET instance = '', holder = '', lease_until = 0, waiting = 0, in_call = 0
                WHERE consultation_id = \(consultation.rawValue) AND holder = \(holder) AND epoch = \(epoch)
                RETURNING 1
                """,
                logger: logger
            ).collect()
            guard !released.isEmpty else { return }
            // A statement of its own, after the row lock: it sees the seats a
            // save that held the lock before it committed.
            try await connection.query("DELETE FROM call_seat WHERE consultation_id = \(consultation.rawValue)", logger: logger)
        }
    }

    public func saveSeats(
        _ seats: [StoredSeat], presence: CallPresence, of consultation: ConsultationID, holder: String, epoch: Int64
    ) async throws -> Bool {
        let logger = access.logger
        return try await access.transaction("saving a call's seats") { connection in
            // The home's row, locked until the commit: a claim that takes it
            // over waits for this save, or this save sees it lost.
            let home = try await connection.query(
                """
                UPDATE call_home SET waiting = \(presence.waiting), in_call = \(presence.inCall)
                WHERE consultation_id = \(consultation.rawValue) AND holder = \(holder) AND epoch = \(epoch) RETURNING 1
                """,
                logger: logger
            ).collect()
            guard !home.isEmpty else { return false }
            try await connection.query("DELETE FROM call_seat WHERE consultation_id = \(consultation.rawValue)", logger: logger)
            guard !seats.isEmpty else { return true }
            var sql = "INSERT INTO call_seat (consultation_id, position, participant, role, resume_hash, last_key_id) VALUES "
            var binds = PostgresBindings(capacity: 1 + seats.count * 5)
            binds.append(consultation.rawValue)
            for (position, seat) in seats.enumerated() {
                let base = binds.count
                sql += position == 0 ? "" : ", "
                sql += "($1, $\(base + 1)::integer, $\(base + 2)::text, $\(base + 3)::text, $\(base + 4)::bytea, $\(base + 5)::text)"
                binds.append(Int32(position))
                binds.append(seat.participant.rawValue)
                binds.append(seat.role.rawValue)
                binds.append(ByteBuffer(bytes: seat.resume.bytes))
                binds.append(seat.lastKeyId)
            }
            try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
            return true
        }
    }

    public func presence(of consultations: [ConsultationID], now: Date) async throws -> [ConsultationID: CallPresence] {
        guard !consultations.isEmpty else { return [:] }
        let rows = try await access.rows(
            """
            SELECT consultation_id, waiting, in_call FROM call_home
            WHERE lease_until > \(now.timeIntervalSince1970) AND consultation_id = ANY(\(consultations.map(\.rawValue)))
            """,
            "reading who is at calls")
        var found: [ConsultationID: CallPresence] = [:]
        for row in rows {
            let (id, waiting, inCall) = try row.decode((String, Int, Int).self)
            found[ConsultationID(rawValue: id)] = CallPresence(waiting: waiting, inCall: inCall)
        }
        return found
    }

    public func seats(of consultation: ConsultationID) async throws -> [StoredSeat] {
        try await access.rows(
            """
            SELECT participant, role, resume_hash, last_key_id FROM call_seat
            WHERE consultation_id = \(consultation.rawValue) ORDER BY position
            """,
            "reading a call's seats"
        ).map { row in
            let (participant, role, hash, lastKeyId) = try row.decode((String, String, ByteBuffer, String?).self)
            guard let role = ParticipantRole(rawValue: role) else { throw StorageError(.corrupt, "a stored seat has an unknown role") }
            return StoredSeat(
                participant: ParticipantID(rawValue: participant), role: role, resume: TokenHash(bytes: Array(buffer: hash)),
                lastKeyId: lastKeyId)
        }
    }

    public func consultation(resume: TokenHash) async throws -> ConsultationID? {
        guard let row = try await access.rows(
            "SELECT consultation_id, resume_hash FROM call_seat WHERE resume_hash = \(ByteBuffer(bytes: resume.bytes))",
            "reading a call by resume token"
        ).first else { return nil }
        let (id, hash) = try row.decode((String, ByteBuffer).self)
        // The index found it; confirm in constant time anyway.
        guard TokenHash(bytes: Array(buffer: hash)).matches(resume) else { return nil }
        return ConsultationID(rawValue: id)
    }

    private func stored(_ name: String) async throws -> [UInt8]? {
        guard let row = try await access.rows("SELECT secret FROM cluster_secret WHERE name = \(name)", "reading \(name)").first
        else { return nil }
        return Array(buffer: try row.decode(ByteBuffer.self))
    }
}
