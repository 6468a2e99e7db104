import Foundation
import PostgresNIO
import SamromCore

extension PostgresStore: ConsultationStore {
    public func insertConsultation(_ c: Consultation, link: JoinLink) async throws {
        let logger = access.logger
        try await access.transaction("storing a consultation") { connection in
            try await connection.query(
                """
                INSERT INTO consultation (id, owner_id, title, created_at, expires_at, ended_at, booked_start, booked_minutes)
                VALUES (\(c.id.rawValue), \(c.owner.rawValue), \(c.title), \(c.createdAt.timeIntervalSince1970),
                    \(c.expiresAt.timeIntervalSince1970), \(c.endedAt?.timeIntervalSince1970),
                    \(c.booking?.startsAt.timeIntervalSince1970), \(c.booking.map { Int32($0.minutes) }))
                """,
                logger: logger)
            try await Self.setLink(link, of: c.id, on: connection)
        }
    }

    public func consultation(id: ConsultationID) async throws -> Consultation? {
        try await access.rows(
            "SELECT \(unescaped: Self.consultationColumns) FROM consultation WHERE id = \(id.rawValue)", "reading a consultation"
        ).first.map(Self.consultation)
    }

    public func consultation(linkHash: TokenHash) async throws -> (consultation: Consultation, role: ParticipantRole)? {
        guard let row = try await access.rows(
            """
            SELECT c.id, c.owner_id, c.title, c.created_at, c.expires_at, c.ended_at, c.booked_start, c.booked_minutes, l.hash, l.role
            FROM join_link l JOIN consultation c ON c.id = l.consultation_id
            WHERE l.hash = \(ByteBuffer(bytes: linkHash.bytes))
            """,
            "reading a consultation by link"
        ).first else { return nil }
        let (id, owner, title, createdAt, expiresAt, endedAt, bookedStart, bookedMinutes, hash, role) = try row.decode(
            (String, Int64, String?, Double, Double, Double?, Double?, Int32?, ByteBuffer, String).self)
        guard let role = ParticipantRole(rawValue: role), ParticipantRole.invited.contains(role) else { return nil }
        // The primary key found it; confirm in constant time anyway.
        guard TokenHash(bytes: Array(buffer: hash)).matches(linkHash) else { return nil }
        return (Self.consultation(id, owner, title, createdAt, expiresAt, endedAt, bookedStart, bookedMinutes), role)
    }

    public func consultations(owner: AccountID) async throws -> [Consultation] {
        try await access.rows(
            """
            SELECT \(unescaped: Self.consultationColumns) FROM consultation WHERE owner_id = \(owner.rawValue)
            ORDER BY created_at DESC
            """,
            "reading consultations"
        ).map(Self.consultation)
    }

    public func links(of id: ConsultationID) async throws -> [JoinLink] {
        try await access.rows(
            "SELECT role, hash, issued_at FROM join_link WHERE consultation_id = \(id.rawValue) ORDER BY role COLLATE \"C\"",
            "reading join links"
        ).compactMap { row in
            let (role, hash, issuedAt) = try row.decode((String, ByteBuffer, Double).self)
            guard let role = ParticipantRole(rawValue: role), ParticipantRole.invited.contains(role) else { return nil }
            return JoinLink(role: role, hash: TokenHash(bytes: Array(buffer: hash)), issuedAt: Date(timeIntervalSince1970: issuedAt))
        }
    }

    public func replaceLink(of id: ConsultationID, with link: JoinLink) async throws {
        let logger = access.logger
        try await access.transaction("replacing a join link") { connection in
            let found = try await connection.query("SELECT 1 FROM consultation WHERE id = \(id.rawValue)", logger: logger).collect()
            guard !found.isEmpty else { throw StorageError(.notFound, "no such consultation") }
            try await Self.setLink(link, of: id, on: connection)
        }
    }

    /// One link per role: the new one replaces the role's old one.
    private static func setLink(_ link: JoinLink, of id: ConsultationID, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO join_link (hash, consultation_id, role, issued_at)
            VALUES (\(ByteBuffer(bytes: link.hash.bytes)), \(id.rawValue), \(link.role.rawValue), \(link.issuedAt.timeIntervalSince1970))
            ON CONFLICT (consultation_id, role) DO UPDATE SET hash = excluded.hash, issued_at = excluded.issued_at
            """,
            logger: connection.logger)
    }

    public func endConsultation(_ id: ConsultationID, at: Date) async throws -> Bool {
        let ended = try await access.rows(
            "UPDATE consultation SET ended_at = \(at.timeIntervalSince1970) WHERE id = \(id.rawValue) AND ended_at IS NULL RETURNING 1",
            "ending a consultation")
        return ended.count == 1
    }

    public func setBooking(_ booking: Booking?, expiresAt: Date, of id: ConsultationID) async throws -> Bool {
        let updated = try await access.rows(
            """
            UPDATE consultation SET booked_start = \(booking?.startsAt.timeIntervalSince1970),
                booked_minutes = \(booking.map { Int32($0.minutes) }), expires_at = \(expiresAt.timeIntervalSince1970)
            WHERE id = \(id.rawValue) RETURNING 1
            """,
            "booking a consultation")
        return updated.count == 1
    }

    public func consultations(bookedFrom from: Date, to: Date) async throws -> [Consultation] {
        try await access.rows(
            """
            SELECT \(unescaped: Self.consultationColumns) FROM consultation
            WHERE booked_start >= \(from.timeIntervalSince1970) AND booked_start < \(to.timeIntervalSince1970)
            ORDER BY booked_start
            """,
            "reading booked consultations"
        ).map(Self.consultation)
    }

    static let consultationColumns = "id, owner_id, title, created_at, expires_at, ended_at, booked_start, booked_minutes"

    static func consultation(_ row: PostgresRow) throws -> Consultation {
        let (id, owner, title, createdAt, expiresAt, endedAt, bookedStart, bookedMinutes) = try row.decode(
            (String, Int64, String?, Double, Double, Double?, Double?, Int32?).self)
        return consultation(id, owner, title, createdAt, expiresAt, endedAt, bookedStart, bookedMinutes)
    }

    private static func consultation(
        _ id: String, _ owner: Int64, _ title: String?, _ createdAt: Double, _ expiresAt: Double, _ endedAt: Double?,
        _ bookedStart: Double?, _ bookedMinutes: Int32?
    ) -> Consultation {
        Consultation(
            id: ConsultationID(rawValue: id), owner: AccountID(rawValue: owner), title: title,
            createdAt: Date(timeIntervalSince1970: createdAt), expiresAt: Date(timeIntervalSince1970: expiresAt),
            endedAt: endedAt.map(Date.init(timeIntervalSince1970:)),
            booking: Booking(stored: bookedStart, minutes: bookedMinutes.map(Int.init)))
    }
}
