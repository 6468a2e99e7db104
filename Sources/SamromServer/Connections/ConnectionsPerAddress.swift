import Synchronization

/// Connections open at once per client IP address, shared by every event
/// loop. A municipality's staff may sit behind one NAT address, so the
/// limit is generous; it stops one client from holding every descriptor.
final class ConnectionsPerAddress: Sendable {
    let limit: Int
    /// Trusted reverse proxies: every client comes from them, so they are
    /// not limited here (their clients are, by address, in the hub and the login throttle).
    let exempt: Set<String>
    private let counts = Mutex<[String: Int]>([:])

    init(limit: Int, exempt: Set<String> = []) {
        self.limit = limit
        self.exempt = exempt
    }

    /// Counts a new connection from `address`; false (and not counted) when
    /// that address already holds `limit` connections. An exempt address is
    /// never counted: it may open any number, and `close` is not called for it.
    func open(_ address: String) -> Bool {
        if exempt.contains(address) { return true }
        return counts.withLock { counts in
            let current = counts[address, default: 0]
            guard current < limit else { return false }
            counts[address] = current + 1
            return true
        }
    }

    func close(_ address: String) {
        counts.withLock { counts in
            guard let current = counts[address] else { return }
            counts[address] = current > 1 ? current - 1 : nil
        }
    }

    func count(_ address: String) -> Int {
        counts.withLock { $0[address, default: 0] }
    }
}
