import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import SamromTestSupport
import Synchronization

/// A bare client connection that writes exactly what it is told, when told:
/// a slowloris, or one of many connections from the same address. With
/// `tls`, it completes a real handshake first; without, it never starts one.
final class RawConnection: Sendable {
    let channel: any Channel
    private let collector: Collector

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let text = Mutex("")
        let handshaken = Mutex(false)
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case .handshakeCompleted? = event as? TLSUserEvent { handshaken.withLock { $0 = true } }
            context.fireUserInboundEventTriggered(event)
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            text.withLock { $0 += String(buffer: buffer) }
        }
        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }

    private init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    static func connect(port: Int, tls: TLSConfiguration?) async throws -> RawConnection {
        let collector = Collector()
        let context = try tls.map { try NIOSSLContext(configuration: $0) }
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                    }
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawConnection(channel: channel, collector: collector)
    }

    /// Writes `text` (after the handshake, when TLS).
    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text)).get()
    }

    var received: String { collector.text.withLock { $0 } }
    var isOpen: Bool { channel.isActive }

    /// Waits until `text` was received (`occurrences` times); false on close or timeout.
    func waitFor(_ text: String, occurrences: Int = 1, timeout: Duration = .seconds(10)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        func seen() -> Bool { received.components(separatedBy: text).count - 1 >= occurrences }
        while ContinuousClock.now < deadline {
            if seen() { return true }
            if !isOpen { return seen() }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// Waits for the server to close the connection; true if it did within `timeout`.
    func waitClosed(within timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !isOpen { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return !isOpen
    }

    /// Waits until the TLS handshake has finished (the server then holds the connection).
    func handshake(timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, isOpen {
            if collector.handshaken.withLock({ $0 }) { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("no TLS handshake")
    }

    func close() {
        channel.close(promise: nil)
    }
}
