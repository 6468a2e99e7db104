import SamromCore
import Synchronization

/// The relay's fast path: for each connection in a call, to whom its offer,
/// answer, ICE and media frames go. The hub rewrites a room's routes every time it
/// stores that room, and drops a connection's routes when it closes it; each
/// socket's reader looks here first, so a relayed frame goes straight into
/// the other side's outbox without waiting its turn on the hub actor, which
/// stays the one place that decides who may talk to whom.
///
/// A frame without a route (not admitted, peer away, not said hello) goes
/// to the hub as before, which answers it with the precise error.
final class RelayRoutes: Sendable {
    struct Route: Sendable {
        /// The sender, as the receiver knows them.
        var from: ParticipantID
        var target: ConnectionID
    }

    private struct State {
        /// Connections that may still send and receive (not closing).
        var outboxes: [ConnectionID: AsyncStream<SignallingHub.Outbound>.Continuation] = [:]
        var routes: [ConnectionID: Route] = [:]
    }

    private let state = Mutex(State())

    /// A new connection; nothing is routed to or from it until its room says so.
    func opened(_ id: ConnectionID, outbox: AsyncStream<SignallingHub.Outbound>.Continuation) {
        state.withLock { $0.outboxes[id] = outbox }
    }

    /// The connection is closing or gone: it neither sends nor receives here.
    func closed(_ id: ConnectionID) {
        state.withLock { state in
            state.outboxes[id] = nil
            state.routes[id] = nil
        }
    }

    /// A room was stored: the routes of its old members go, and the two
    /// people in the call (if both are connected) get a route to each other.
    func roomChanged(from old: Room?, to new: Room?) {
        state.withLock { state in
            for connection in old?.connections ?? [] { state.routes[connection] = nil }
            guard let room = new else { return }
            for connection in room.connections {
                guard let member = room.member(connection), member.inCall,
                    let target = room.counterpart(of: connection)
                else { continue }
                state.routes[connection] = Route(from: member.peer.participant, target: target)
            }
        }
    }

    /// What relaying a frame did.
    enum Outcome: Equatable {
        /// The frame is in the receiver's outbox.
        case relayed
        /// No route: the hub must decide (and explain).
        case noRoute
        /// The receiver's outbox was full: it does not read, so it was finished.
        case receiverTooSlow
    }

    /// Relays an offer, answer, ICE or media frame from `id` if it has a route.
    func relay(_ message: ClientMessage, from id: ConnectionID) -> Outcome {
        let found: (Route, AsyncStream<SignallingHub.Outbound>.Continuation)? = state.withLock { state in
            guard state.outboxes[id] != nil, let route = state.routes[id], let outbox = state.outboxes[route.target]
            else { return nil }
            return (route, outbox)
        }
        guard let (route, outbox) = found else { return .noRoute }
        let relayed: ServerMessage
        switch message {
        case .offer(let sdp): relayed = .offer(from: route.from, sdp: sdp)
        case .answer(let sdp): relayed = .answer(from: route.from, sdp: sdp)
        case .ice(let candidate): relayed = .ice(from: route.from, candidate: candidate)
        case .media(let video): relayed = .media(from: route.from, video: video)
        default: return .noRoute
        }
        return outbox.deliver(relayed) ? .relayed : .receiverTooSlow
    }
}
