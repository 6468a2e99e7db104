import Foundation
import GRDB
import SamromCore

/// The embedded store: one SQLite file in WAL mode with `synchronous=FULL`,
/// so a committed write survives power loss and SIGKILL alike.
public final class SQLiteStore: Sendable {
    let pool: DatabasePool
    let groupCommit: GroupCommit
    public let path: String

    /// Opens (creating if needed) `samrom.sqlite` in `directory` and migrates it.
    public init(directory: URL) throws {
        do {
            // Modes corrected (0700/0600), umask 077 and the signing key
            // checked before SQLite opens (or makes) a file.
            try DataDirectory.prepare(directory)
            let path = directory.appendingPathComponent("samrom.sqlite").path
            var configuration = Configuration()
            configuration.label = "samrom"
            configuration.busyMode = .timeout(5)
            configuration.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
            pool = try DatabasePool(path: path, configuration: configuration)
            groupCommit = GroupCommit(pool: pool)
            self.path = path
            try Schema.migrator.migrate(pool)
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError(.unavailable, "cannot open the database in \(directory.path): \(error)")
        }
    }

    /// SQLite's journal mode ("wal" once opened).
    public func journalMode() async throws -> String {
        try await read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    /// Runs a write and maps SQLite failures to `StorageError`.
    func write<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        try await Self.mappingErrors { try await pool.write(body) }
    }

    /// A write that may share its transaction (and fsync) with concurrent
    /// ones: for the high-rate appends (audit entries, chat messages).
    func groupedWrite<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        try await Self.mappingErrors { try await groupCommit.submit(body) }
    }

    private static func mappingErrors<T>(_ write: () async throws -> T) async throws -> T {
        do {
            return try await write()
        } catch let error as StorageError {
            throw error
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw StorageError(.conflict, "already exists")
        } catch {
            throw StorageError(.unavailable, "write failed: \(error)")
        }
    }

    func read<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError(.unavailable, "read failed: \(error)")
        }
    }
}
