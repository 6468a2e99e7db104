import Foundation
import HummingbirdWebSocket
import Logging
import Metrics
import NIOWebSocket
import SamromCore

/// Runs one `/ws` connection: its outbox writing to the socket (the hub's
/// sweep enforces the hello deadline), and the reader that rate-limits and parses frames and hands
/// them to the hub until `hello` has put the connection in a room, then to
/// that room's `ConsultationSession` directly. Oversized messages end the
/// connection with 1009.
struct SignallingSocket: Sendable {
    /// The few settings a socket needs, not the whole configuration: the
    /// reader's async frame lives as long as the connection and holds them.
    struct Limits: Sendable {
        var maxMessageBytes: Int
        var messagesPerSecond: Double
        var messageBurst: Double
        var maxRejectedMessages: Int

        init(_ configuration: ServerConfiguration) {
            maxMessageBytes = configuration.maxMessageBytes
            messagesPerSecond = configuration.messagesPerSecond
            messageBurst = configuration.messageBurst
            maxRejectedMessages = configuration.maxRejectedMessages
        }
    }

    let hub: SignallingHub
    let limits: Limits
    let clock: WallClock

    init(hub: SignallingHub, configuration: ServerConfiguration, clock: WallClock) {
        self.hub = hub
        self.limits = Limits(configuration)
        self.clock = clock
    }

    func run(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, account: Account?, clientIP: String?,
        identified: VerifiedIdentity? = nil, askedFor: String? = nil
    ) async throws {
        let (id, outbox) = await hub.connect(account: account, clientIP: clientIP, identified: identified, askedFor: askedFor)
        outbox.attach(SocketSink(outbound: outbound))
        do {
            try await read(inbound, connection: id)
        } catch {
            await hub.disconnected(id)
            throw error
        }
        await hub.disconnected(id)
    }

    private func read(_ inbound: WebSocketInboundStream, connection id: ConnectionID) async throws {
        var flood = FloodGuard(limits, now: clock.now)
        var session: ConsultationSession?
        for try await message in inbound.messages(maxSize: limits.maxMessageBytes) {
            switch flood.admit(now: clock.now) {
            case .accept:
                let frame = Self.parse(message)
                if let session, case .signal(let to, let signal) = frame {
                    // The relay, most frames of a call, stays on this task: it
                    // goes no deeper than the session's synchronous `relay`.
                    await session.relay(signal, to: to, from: id)
                } else {
                    // Everything else runs in a child task, awaited before
                    // the next frame is read (so frames keep their order). A
                    // task keeps the memory of its deepest call stack until it
                    // ends; this reader lives as long as the connection, while
                    // hello, the session's other requests, the store and the
                    // audit log go many calls deep, so their frames live and
                    // die with the child (docs/benchmarks.md, idle connections).
                    async let handled = Self.handle(frame, session: session, hub: hub, connection: id)
                    session = await handled
                }
            case .ignore:
                continue
            case .warn, .close:
                await Self.refuse(flood, hub: hub, connection: id)
            }
        }
    }

    /// Tells a flooding client that its frames were dropped, or closes it.
    @inline(never)
    private static func refuse(_ flood: FloodGuard, hub: SignallingHub, connection id: ConnectionID) async {
        if flood.isClosing {
            await hub.reject(SignalError(.rateLimited, "too many messages; closing"), to: id)
            await hub.close(id, code: .policyViolation, reason: "rate-limited")
        } else {
            await hub.reject(SignalError(.rateLimited, "slow down; messages were dropped"), to: id)
        }
    }

    /// A frame as the reader holds it: a `signal`'s recipient and box, or
    /// anything else (or why it is not a message) behind one reference, so
    /// that the reader's long-lived async frame stays small.
    private enum Frame: Sendable {
        case signal(to: ParticipantID, SealedSignal)
        case other(Parsed)
    }

    private final class Parsed: Sendable {
        let message: Result<ClientMessage, SignalError>
        init(_ message: Result<ClientMessage, SignalError>) { self.message = message }
    }

    /// Parses a frame once. Not inlined: the decoder's temporaries would
    /// join the reader's async frame.
    @inline(never)
    private static func parse(_ message: WebSocketMessage) -> Frame {
        guard case .text(let text) = message else {
            return .other(Parsed(.failure(SignalError(.badJSON, "binary frames are not part of this protocol"))))
        }
        let parsed = Result { () throws(SignalError) in try ClientMessage.decode(text) }
        if case .success(.signal(let to, let signal)) = parsed { return .signal(to: to, signal) }
        return .other(Parsed(parsed))
    }

    /// Gives a parsed frame to the connection's session, or to the hub
    /// before `hello` has put the connection in a room; a frame that did not
    /// parse is answered. Returns the session the connection belongs to afterwards.
    private static func handle(
        _ frame: Frame, session: ConsultationSession?, hub: SignallingHub, connection id: ConnectionID
    ) async -> ConsultationSession? {
        let parsed: ClientMessage
        switch frame {
        case .signal(let to, let signal):
            parsed = .signal(to: to, signal)
        case .other(let other):
            switch other.message {
            case .failure(let error):
                await hub.reject(error, to: id)
                return session
            case .success(let message):
                parsed = message
            }
        }
        if let session {
            await session.receive(parsed, from: id)
            return session
        } else if case .hello(let credential) = parsed {
            return await hub.hello(credential, from: id)
        } else {
            await hub.receive(parsed, from: id)
            return nil
        }
    }
}

/// The socket an outbox writes to.
struct SocketSink: OutboxSink {
    let outbound: WebSocketOutboundWriter

    func write(_ text: String) async throws {
        try await outbound.write(.text(text))
    }

    func close(_ code: WebSocketCloseCode, reason: String) async throws {
        try await outbound.close(WebSocketErrorCode(codeNumber: Int(code.rawValue)), reason: reason)
    }
}
