import Foundation
import HummingbirdWebSocket
import Logging
import Metrics
import NIOWebSocket
import SamromCore

/// Runs one `/ws` connection: a writer draining its outbox, a hello
/// deadline, and the reader that rate-limits and parses frames and hands
/// them to the hub until `hello` has put the connection in a room, then to
/// that room's `ConsultationSession` directly. Oversized messages end the
/// connection with 1009.
struct SignallingSocket: Sendable {
    let hub: SignallingHub
    let configuration: ServerConfiguration
    let clock: WallClock

    func run(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, account: Account?, clientIP: String?,
        identified: VerifiedIdentity? = nil, askedFor: String? = nil
    ) async throws {
        let (id, outbox) = await hub.connect(account: account, clientIP: clientIP, identified: identified, askedFor: askedFor)
        let helloTimeout = configuration.helloTimeout
        let hub = self.hub
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await item in outbox.stream {
                    switch item {
                    case .message(let message):
                        try await outbound.write(.text(message.encoded()))
                        outbox.written(message)
                    case .close(let code, let reason):
                        try await outbound.close(WebSocketErrorCode(codeNumber: Int(code.rawValue)), reason: reason)
                        return
                    }
                }
                // The outbox was finished: the connection is gone or too slow.
                try? await outbound.close(.policyViolation, reason: "too-slow")
            }
            group.addTask {
                try await Task.sleep(for: helloTimeout)
                await hub.helloDeadline(id)
            }
            do {
                try await read(inbound, connection: id)
            } catch {
                await hub.disconnected(id)
                group.cancelAll()
                throw error
            }
            await hub.disconnected(id)
            group.cancelAll()
        }
    }

    private func read(_ inbound: WebSocketInboundStream, connection id: ConnectionID) async throws {
        var bucket = TokenBucket(
            ratePerSecond: configuration.messagesPerSecond, burst: configuration.messageBurst, now: clock.now)
        var rejectedInARow = 0
        var closing = false
        var session: ConsultationSession?
        for try await message in inbound.messages(maxSize: configuration.maxMessageBytes) {
            // After the close was sent, frames still in flight are ignored
            // until the peer's close frame ends the stream.
            if closing { continue }
            guard bucket.take(now: clock.now) else {
                rejectedInARow += 1
                if rejectedInARow >= configuration.maxRejectedMessages {
                    await hub.reject(SignalError(.rateLimited, "too many messages; closing"), to: id)
                    await hub.close(id, code: .policyViolation, reason: "rate-limited")
                    closing = true
                    continue
                }
                // Say it once per burst, not once per dropped frame.
                if rejectedInARow == 1 || rejectedInARow % 50 == 0 {
                    await hub.reject(SignalError(.rateLimited, "slow down; messages were dropped"), to: id)
                }
                continue
            }
            rejectedInARow = 0
            guard case .text(let text) = message else {
                await hub.reject(SignalError(.badJSON, "binary frames are not part of this protocol"), to: id)
                continue
            }
            let parsed: ClientMessage
            do {
                parsed = try ClientMessage.decode(text)
            } catch {
                await hub.reject(error, to: id)
                continue
            }
            if let session {
                await session.receive(parsed, from: id)
            } else if case .hello(let credential) = parsed {
                session = await hub.hello(credential, from: id)
            } else {
                await hub.receive(parsed, from: id)
            }
        }
    }
}
