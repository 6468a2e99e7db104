import Logging
import PostgresNIO
import SamromCore

/// The shared store: PostgreSQL, for several Samrom instances at once (issue
/// 14). The same protocols and the same behaviour as `SQLiteStore`; commits
/// are durable when they return (`synchronous_commit` must not be off), and
/// the audit log is sequenced under a row lock on its head, in batches.
///
/// It owns a connection pool (`PostgresClient`) whose `run()` goes on in a
/// task of its own until `close()`.
public final class PostgresStore: Sendable {
    let access: PostgresAccess
    let sequencer: PostgresAuditSequencer
    private let running: Task<Void, Never>
    /// Where it is connected, without the password: for logs.
    public let endpoint: String
    /// Where it is connected: for the cluster channel's own connection.
    let target: PostgresURL
    let logger: Logger
    /// Whether this instance signs the audit log's checkpoints now.
    let signingTurn: PostgresSigningTurn

    /// Connects to the database at `url` (`postgres://user@host:port/db`),
    /// creating or migrating its schema, and starts the pool. A bad URL, a
    /// server that cannot be reached or refuses the login, or a schema newer
    /// than this version are `StorageError`s, thrown here.
    /// `password`, when given, is used instead of one in the URL (which then
    /// must have none): kept in a file rather than on a command line.
    public static func connect(
        url: String, password: String? = nil, logger: Logger, maximumConnections: Int = 16
    ) async throws -> PostgresStore {
        var target = try PostgresURL(url)
        if let password {
            guard target.password == nil else {
                throw StorageError(.unavailable, "the PostgreSQL URL has a password and a password file is given: keep it in the file only")
            }
            target.password = password
        }
        // One connection of our own first: a failure to connect is an error
        // now, with its cause, rather than requests waiting in the pool's
        // retries; and the schema is migrated on it.
        let connection = try await openConnection(target, logger: logger)
        do {
            try await checkDurability(connection, logger: logger)
            try await PostgresSchema.migrate(on: connection, logger: logger)
        } catch {
            try? await connection.close()
            throw PostgresAccess.storageError(error, "migrating the schema at \(target.redacted)")
        }
        try? await connection.close()
        return PostgresStore(target: target, logger: logger, maximumConnections: maximumConnections)
    }

    private init(target: PostgresURL, logger: Logger, maximumConnections: Int) {
        var configuration = PostgresClient.Configuration(
            host: target.host, port: target.port, username: target.username, password: target.password,
            database: target.database, tls: Self.clientTLS(target.tls))
        configuration.options.maximumConnections = max(1, maximumConnections)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        access = PostgresAccess(client: client, logger: logger)
        sequencer = PostgresAuditSequencer(access: access)
        endpoint = target.redacted
        self.target = target
        self.logger = logger
        signingTurn = PostgresSigningTurn(target: target, logger: logger)
        // Immediate: `run()` has begun (and marked the pool running) before
        // the first query can ask it for a connection.
        running = Task.immediate { await client.run() }
    }

    /// Stops the pool and closes its connections. Calls after it fail.
    public func close() async {
        await signingTurn.release()
        running.cancel()
        await running.value
    }

    /// The schema version of the database (`samrom_schema`) and how many
    /// migrations are recorded there.
    public func schemaVersion() async throws -> (version: Int, migrations: Int) {
        let row = try await access.rows("SELECT COALESCE(MAX(version), 0), COUNT(*) FROM samrom_schema", "reading the schema version").first
        let (version, count) = try row?.decode((Int, Int).self) ?? (0, 0)
        return (version, count)
    }

    static func openConnection(_ target: PostgresURL, logger: Logger) async throws -> PostgresConnection {
        do {
            var configuration = PostgresConnection.Configuration(
                host: target.host, port: target.port, username: target.username, password: target.password,
                database: target.database, tls: try connectionTLS(target.tls))
            configuration.options.connectTimeout = .seconds(10)
            return try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        } catch {
            throw StorageError(.unavailable, "cannot connect to PostgreSQL at \(target.redacted): \(PostgresAccess.cause(error))")
        }
    }

    /// A commit must be on disk when it returns: refuse a server or role
    /// that says otherwise rather than lose acknowledged audit entries.
    private static func checkDurability(_ connection: PostgresConnection, logger: Logger) async throws {
        let setting = try await connection.query("SHOW synchronous_commit", logger: logger).collect().first?.decode(String.self)
        if setting == "off" {
            throw StorageError(.unavailable, "synchronous_commit is off: a commit would not be durable when it returns")
        }
    }

    private static func connectionTLS(_ mode: PostgresURL.TLSMode) throws -> PostgresConnection.Configuration.TLS {
        switch mode {
        case .disable: return .disable
        case .prefer: return .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require: return .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
    }

    private static func clientTLS(_ mode: PostgresURL.TLSMode) -> PostgresClient.Configuration.TLS {
        switch mode {
        case .disable: return .disable
        case .prefer: return .prefer(.makeClientConfiguration())
        case .require: return .require(.makeClientConfiguration())
        }
    }
}
