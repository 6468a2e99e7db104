import Logging
import PostgresNIO
import SamromCore

/// The pool and the few ways the store uses it: a query, a transaction on
/// one connection, and PostgreSQL's failures as `StorageError`s. Shared by
/// the store and its audit sequencer.
struct PostgresAccess: Sendable {
    let client: PostgresClient
    let logger: Logger

    /// Runs a query and collects its rows.
    func rows(_ query: PostgresQuery, _ what: String) async throws -> [PostgresRow] {
        do {
            return try await client.query(query, logger: logger).collect()
        } catch {
            throw Self.storageError(error, what)
        }
    }

    /// Runs a statement, for its effect.
    func execute(_ query: PostgresQuery, _ what: String) async throws {
        _ = try await rows(query, what)
    }

    /// Runs `body` in one transaction on one connection: committed when it
    /// returns, rolled back when it throws.
    func transaction<T: Sendable>(_ what: String, _ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withConnection { connection in
                try await Self.transaction(on: connection, logger: logger, body)
            }
        } catch {
            throw Self.storageError(error, what)
        }
    }

    static func transaction<T: Sendable>(
        on connection: PostgresConnection, logger: Logger, _ body: @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await connection.query("BEGIN", logger: logger)
        do {
            let value = try await body(connection)
            try await connection.query("COMMIT", logger: logger)
            return value
        } catch {
            // A failed statement already aborted the transaction; a lost
            // connection ends it on the server. Either way, nothing stays.
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    /// PostgreSQL's failures as ours: a broken constraint (SQLSTATE class 23:
    /// a taken username, a missing row referred to) is a conflict, like
    /// SQLite's; anything else means the database cannot be used now. The
    /// server's message is kept, its detail (which can quote row values) not.
    static func storageError(_ error: any Error, _ what: String) -> StorageError {
        switch error {
        case let error as StorageError:
            return error
        case let error as PSQLError where error.serverInfo?[.sqlState]?.hasPrefix("23") == true:
            return StorageError(.conflict, "\(what): \(cause(error))")
        case is PostgresDecodingError:
            return StorageError(.corrupt, "\(what): \(cause(error))")
        default:
            return StorageError(.unavailable, "\(what) failed: \(cause(error))")
        }
    }

    /// What went wrong, in words: the server's message and SQLSTATE, or the
    /// client's error and its cause (a refused connection, say).
    static func cause(_ error: any Error) -> String {
        switch error {
        case let error as StorageError:
            return error.reason
        case let error as PSQLError:
            if let info = error.serverInfo {
                return "\(info[.message] ?? "no message") (SQLSTATE \(info[.sqlState] ?? "?"))"
            }
            if let underlying = error.underlying { return "\(error.code): \(underlying)" }
            return "\(error.code)"
        case let error as PostgresDecodingError:
            return "a stored value has an unexpected type (column \(error.columnName))"
        default:
            return "\(error)"
        }
    }

    /// True for a statement the server refused for its data (SQLSTATE class
    /// 22 or 23): it changed nothing and would fail again, unlike a lost
    /// connection, whose transaction may have committed.
    static func isRefusedData(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return false }
        return state.hasPrefix("22") || state.hasPrefix("23")
    }
}
