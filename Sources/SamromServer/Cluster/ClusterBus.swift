import Logging
import SamromCore
import ServiceLifecycle

/// Carries `ClusterEvent`s: this instance acts on its own at once, and the
/// others hear of it through the store's `ClusterChannel` (PostgreSQL
/// LISTEN/NOTIFY). On SQLite there is no channel and no other instance.
/// As a service it listens for the other instances' events, and after the
/// channel was down it has the hub check its calls against the store.
public struct ClusterBus: Service {
    let hub: SignallingHub
    let channel: (any ClusterChannel)?
    let holder: String
    let logger: Logger

    /// A change was committed here: act on it, then tell the others.
    public func announce(_ event: ClusterEvent) async {
        await hub.apply(event)
        guard let channel else { return }
        do {
            try await channel.publish(event, from: holder)
        } catch {
            // The others catch up when their channel resynchronises, or when
            // the call's next arrival finds the consultation ended.
            logger.error("telling the other instances failed", metadata: ["error.type": "\(type(of: error))"])
        }
    }

    public func run() async throws {
        guard let channel else {
            try? await gracefulShutdown()
            return
        }
        let hub = self.hub, holder = self.holder
        try await cancelWhenGracefulShutdown {
            await channel.listen { delivery in
                switch delivery {
                case .event(let event, let from):
                    if from != holder { await hub.apply(event) }
                case .resynchronise:
                    await hub.resynchronise()
                }
            }
        }
    }
}
