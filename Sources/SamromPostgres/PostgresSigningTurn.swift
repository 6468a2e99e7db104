import Logging
import PostgresNIO
import SamromCore

/// The audit log's signing turn on PostgreSQL: `pg_try_advisory_lock` on a
/// connection kept for it. Held as long as that connection lives; checked
/// with every ask, so a lost connection (and with it the lock) is noticed
/// before the next checkpoint is signed.
actor PostgresSigningTurn {
    /// The bytes spell "samrom" and a 2.
    static let lock: Int64 = 0x7361_6D72_6F6D_0002

    private let target: PostgresURL
    private let logger: Logger
    private var connection: PostgresConnection?
    private var failures = 0

    init(target: PostgresURL, logger: Logger) {
        self.target = target
        self.logger = logger
    }

    func hold() async -> Bool {
        do {
            if let connection {
                // Still ours while the connection answers.
                _ = try await connection.query("SELECT 1", logger: logger).collect()
                return true
            }
            let opened = try await PostgresStore.openConnection(target, logger: logger)
            let taken = try await opened.query("SELECT pg_try_advisory_lock(\(Self.lock))", logger: logger)
                .collect().first?.decode(Bool.self) ?? false
            failures = 0
            if taken {
                connection = opened
                logger.info("this instance signs the audit log's checkpoints now")
            } else {
                try? await opened.close()
            }
            return taken
        } catch {
            failures += 1
            if failures == 1 || failures % 60 == 0 {
                logger.warning("the audit signing turn is not held", metadata: ["cause": "\(PostgresAccess.cause(error))"])
            }
            try? await connection?.close()
            connection = nil
            return false
        }
    }

    func release() async {
        guard let connection else { return }
        self.connection = nil
        _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.lock))", logger: logger).collect()
        try? await connection.close()
    }
}

extension PostgresStore: SigningTurn {
    public func holdSigningTurn() async -> Bool { await signingTurn.hold() }
    public func releaseSigningTurn() async { await signingTurn.release() }
}
