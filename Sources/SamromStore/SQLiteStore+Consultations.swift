import Foundation
import GRDB
import SamromCore

extension SQLiteStore: ConsultationStore {
    public func insertConsultation(_ c: Consultation) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO consultation (id, ownerId, title, createdAt, expiresAt, endedAt, linkHash, linkIssuedAt)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    c.id.rawValue, c.owner.rawValue, c.title, c.createdAt.timeIntervalSince1970,
                    c.expiresAt.timeIntervalSince1970, c.endedAt?.timeIntervalSince1970, Data(c.linkHash.bytes),
                    c.linkIssuedAt.timeIntervalSince1970,
                ])
        }
    }

    public func consultation(id: ConsultationID) async throws -> Consultation? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM consultation WHERE id = ?", arguments: [id.rawValue])
                .map(Self.consultation)
        }
    }

    public func consultation(linkHash: TokenHash) async throws -> Consultation? {
        try await read { db in
            guard let found = try Row.fetchOne(
                db, sql: "SELECT * FROM consultation WHERE linkHash = ?", arguments: [Data(linkHash.bytes)]
            ).map(Self.consultation) else { return nil }
            // The unique index found it; confirm in constant time anyway.
            return found.linkHash.matches(linkHash) ? found : nil
        }
    }

    public func consultations(owner: AccountID) async throws -> [Consultation] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM consultation WHERE ownerId = ? ORDER BY createdAt DESC", arguments: [owner.rawValue]
            ).map(Self.consultation)
        }
    }

    public func replaceLink(of id: ConsultationID, with hash: TokenHash, at: Date) async throws {
        try await write { db in
            try db.execute(
                sql: "UPDATE consultation SET linkHash = ?, linkIssuedAt = ? WHERE id = ?",
                arguments: [Data(hash.bytes), at.timeIntervalSince1970, id.rawValue])
            guard db.changesCount == 1 else { throw StorageError(.notFound, "no such consultation") }
        }
    }

    public func endConsultation(_ id: ConsultationID, at: Date) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: "UPDATE consultation SET endedAt = ? WHERE id = ? AND endedAt IS NULL",
                arguments: [at.timeIntervalSince1970, id.rawValue])
            return db.changesCount == 1
        }
    }

    static func consultation(_ row: Row) -> Consultation {
        Consultation(
            id: ConsultationID(rawValue: row["id"]), owner: AccountID(rawValue: row["ownerId"]), title: row["title"],
            createdAt: Date(timeIntervalSince1970: row["createdAt"]),
            expiresAt: Date(timeIntervalSince1970: row["expiresAt"]),
            endedAt: (row["endedAt"] as Double?).map(Date.init(timeIntervalSince1970:)),
            linkHash: TokenHash(bytes: Array(row["linkHash"] as Data)),
            linkIssuedAt: Date(timeIntervalSince1970: row["linkIssuedAt"]))
    }
}
