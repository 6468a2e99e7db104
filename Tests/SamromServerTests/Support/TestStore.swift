import Foundation
import Logging
import SamromCore
import SamromPostgres
import SamromTestSupport

/// Which store the live servers of this test run use: SQLite in each
/// server's data directory (the default), or, with
/// `SAMROM_TEST_STORE=postgres` (`make test` runs the suite both ways), a
/// fresh database per server on one PostgreSQL 15 cluster for the run.
enum TestStore {
    static var usesPostgres: Bool { ProcessInfo.processInfo.environment["SAMROM_TEST_STORE"] == "postgres" }

    /// The store for a live server over `dataDirectory`; nil for the
    /// default (SQLite). A server restarted over the same data directory
    /// finds the same database, as with SQLite.
    static func make(for dataDirectory: URL, logger: Logger) async throws -> (any SamromStorage)? {
        guard usesPostgres else { return nil }
        let url = try await SharedCluster.shared.database(for: dataDirectory.path)
        // Small pools: a whole suite of servers shares the cluster's connections.
        return try await PostgresStore.connect(url: url, logger: logger, maximumConnections: 4)
    }

    /// Closes what `make` opened.
    static func close(_ store: any SamromStorage) async {
        await (store as? PostgresStore)?.close()
    }

    /// One cluster for the whole test process, started on first use; its
    /// watchdog stops it and deletes its files when the process ends.
    actor SharedCluster {
        static let shared = SharedCluster()
        private var started: Task<PostgresServer, any Error>?
        private var databases: [String: String] = [:]

        func database(for key: String) async throws -> String {
            if let url = databases[key] { return url }
            let url = try await server().createDatabase()
            databases[key] = databases[key] ?? url
            return databases[key]!
        }

        private func server() async throws -> PostgresServer {
            if let started { return try await started.value }
            let task = Task { try await PostgresServer.start() }
            started = task
            return try await task.value
        }
    }
}
