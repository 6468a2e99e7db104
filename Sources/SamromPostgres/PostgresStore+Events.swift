import Logging
import PostgresNIO
import SamromCore

/// The instances' control events over PostgreSQL's LISTEN/NOTIFY, on the
/// channel `samrom_events`: NOTIFY through the pool, LISTEN on a connection
/// of its own that is opened again whenever it is lost.
extension PostgresStore: ClusterChannel {
    static let eventChannel = "samrom_events"

    public func publish(_ event: ClusterEvent, from holder: String) async throws {
        try await access.execute(
            "SELECT pg_notify(\(Self.eventChannel), \(event.payload(from: holder)))", "telling the other instances")
    }

    public func listen(_ deliver: @escaping @Sendable (ClusterDelivery) async -> Void) async {
        // Events may have been missed: a connection was lost, or one could
        // not be opened or listen (also the first time: what was published
        // while this was not listening yet is gone).
        var missedSome = false
        var failures = 0
        while !Task.isCancelled {
            do {
                let connection = try await Self.openConnection(target, logger: logger)
                failures = 0
                do {
                    try await connection.listen(on: Self.eventChannel) { notifications in
                        // Listening again after a loss: what was sent meanwhile is gone.
                        if missedSome { await deliver(.resynchronise) }
                        for try await notification in notifications {
                            guard let (event, from) = ClusterEvent.parse(notification.payload) else {
                                logger.warning("ignored a malformed cluster event")
                                continue
                            }
                            await deliver(.event(event, from: from))
                        }
                    }
                } catch {
                    if !Task.isCancelled {
                        logger.warning("the cluster event connection was lost", metadata: ["error.type": "\(type(of: error))"])
                    }
                }
                try? await connection.close()
            } catch {
                failures += 1
                if failures == 1 || failures % 30 == 0 {
                    logger.error("cannot listen for cluster events", metadata: ["cause": "\(PostgresAccess.cause(error))"])
                }
            }
            missedSome = true
            // Wait a little before opening it again (also when it just ended).
            try? await Task.sleep(for: .milliseconds(failures == 0 ? 100 : min(5_000, 250 * failures)))
        }
    }
}
