import Foundation
import GRDB
import SamromCore

extension SQLiteStore: ConsultationStore {
    public func insertConsultation(_ c: Consultation, link: JoinLink) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO consultation (id, ownerId, title, createdAt, expiresAt, endedAt, bookedStart, bookedMinutes)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    c.id.rawValue, c.owner.rawValue, c.title, c.createdAt.timeIntervalSince1970,
                    c.expiresAt.timeIntervalSince1970, c.endedAt?.timeIntervalSince1970,
                    c.booking?.startsAt.timeIntervalSince1970, c.booking?.minutes,
                ])
            try Self.setLink(link, of: c.id, in: db)
        }
    }

    public func consultation(id: ConsultationID) async throws -> Consultation? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM consultation WHERE id = ?", arguments: [id.rawValue])
                .map(Self.consultation)
        }
    }

    public func consultation(linkHash: TokenHash) async throws -> (consultation: Consultation, role: ParticipantRole)? {
        try await read { db in
            guard let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT consultation.*, joinLink.hash AS linkHash, joinLink.role AS linkRole
                    FROM joinLink JOIN consultation ON consultation.id = joinLink.consultationId
                    WHERE joinLink.hash = ?
                    """,
                arguments: [Data(linkHash.bytes)]),
                let role = ParticipantRole(rawValue: row["linkRole"]), ParticipantRole.invited.contains(role)
            else { return nil }
            // The primary key found it; confirm in constant time anyway.
            guard TokenHash(bytes: Array(row["linkHash"] as Data)).matches(linkHash) else { return nil }
            return (Self.consultation(row), role)
        }
    }

    public func consultations(owner: AccountID) async throws -> [Consultation] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM consultation WHERE ownerId = ? ORDER BY createdAt DESC", arguments: [owner.rawValue]
            ).map(Self.consultation)
        }
    }

    public func links(of id: ConsultationID) async throws -> [JoinLink] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM joinLink WHERE consultationId = ? ORDER BY role", arguments: [id.rawValue]
            ).compactMap { row in
                guard let role = ParticipantRole(rawValue: row["role"]), ParticipantRole.invited.contains(role) else { return nil }
                return JoinLink(role: role, hash: TokenHash(bytes: Array(row["hash"] as Data)), issuedAt: Date(timeIntervalSince1970: row["issuedAt"]))
            }
        }
    }

    public func replaceLink(of id: ConsultationID, with link: JoinLink) async throws {
        try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM consultation WHERE id = ?", arguments: [id.rawValue]) != nil else {
                throw StorageError(.notFound, "no such consultation")
            }
            try Self.setLink(link, of: id, in: db)
        }
    }

    /// One link per role: the new one replaces the role's old one.
    private static func setLink(_ link: JoinLink, of id: ConsultationID, in db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO joinLink (hash, consultationId, role, issuedAt) VALUES (?, ?, ?, ?)
                ON CONFLICT (consultationId, role) DO UPDATE SET hash = excluded.hash, issuedAt = excluded.issuedAt
                """,
            arguments: [Data(link.hash.bytes), id.rawValue, link.role.rawValue, link.issuedAt.timeIntervalSince1970])
    }

    public func endConsultation(_ id: ConsultationID, at: Date) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: "UPDATE consultation SET endedAt = ? WHERE id = ? AND endedAt IS NULL",
                arguments: [at.timeIntervalSince1970, id.rawValue])
            return db.changesCount == 1
        }
    }

    public func setBooking(_ booking: Booking?, expiresAt: Date, of id: ConsultationID) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: "UPDATE consultation SET bookedStart = ?, bookedMinutes = ?, expiresAt = ? WHERE id = ?",
                arguments: [booking?.startsAt.timeIntervalSince1970, booking?.minutes, expiresAt.timeIntervalSince1970, id.rawValue])
            return db.changesCount == 1
        }
    }

    public func consultations(bookedFrom from: Date, to: Date) async throws -> [Consultation] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM consultation WHERE bookedStart >= ? AND bookedStart < ? ORDER BY bookedStart",
                arguments: [from.timeIntervalSince1970, to.timeIntervalSince1970]
            ).map(Self.consultation)
        }
    }

    static func consultation(_ row: Row) -> Consultation {
        Consultation(
            id: ConsultationID(rawValue: row["id"]), owner: AccountID(rawValue: row["ownerId"]), title: row["title"],
            createdAt: Date(timeIntervalSince1970: row["createdAt"]),
            expiresAt: Date(timeIntervalSince1970: row["expiresAt"]),
            endedAt: (row["endedAt"] as Double?).map(Date.init(timeIntervalSince1970:)),
            booking: Booking(stored: row["bookedStart"], minutes: row["bookedMinutes"]))
    }
}
