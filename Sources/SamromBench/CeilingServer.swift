import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// The ceiling of Samrom's own stack: a WebSocket relay on exactly the same
/// Hummingbird, TLS and WebSocket settings as `samrom serve` (same frame
/// limit, pings, close timeout, UTF-8 validation, receive buffer, one writer task per
/// connection draining an outbox), but with no application logic at all: no
/// hello, no JSON, no rooms beyond "the two sockets that asked for the same
/// `?room=`", no rate limit, no audit. Every frame goes to the other socket
/// as it came. Samrom's relay is measured against this.
public enum CeilingServer {
    /// Serves on 127.0.0.1 until cancelled; `onRunning` gets the bound port.
    public static func run(
        port: Int, certificatePath: String, keyPath: String, onRunning: @escaping @Sendable (Int) async -> Void
    ) async throws {
        let chain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { NIOSSLCertificateSource.certificate($0) }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: keyPath, format: .pem)))
        tls.minimumTLSVersion = .tlsv12
        var logger = Logger(label: "ceiling")
        logger.logLevel = .error

        let rooms = Rooms()
        let webSocketRouter = Router(context: BasicWebSocketRequestContext.self)
        webSocketRouter.ws("/relay") { _, _ -> RouterShouldUpgrade in
            .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            let room = context.request.uri.queryParameters.get("room") ?? ""
            try await relay(room: room, rooms: rooms, inbound: inbound, outbound: outbound)
        }
        let webSocketResponder = webSocketRouter.buildResponder()
        let channelConfiguration = HTTP1WebSocketUpgradeChannel.Configuration(
            http1: .init(idleTimeout: .seconds(120)),
            ws: .init(maxFrameSize: 64 * 1024, autoPing: .enabled(timePeriod: .seconds(4)), closeTimeout: .seconds(2), validateUTF8: true))
        let tlsConfiguration = tls
        let server = HTTPServerBuilder { responder in
            SmallReceiveBuffer(
                base: try TLSChannel(
                    HTTP1WebSocketUpgradeChannel(
                        responder: responder, webSocketResponder: webSocketResponder, configuration: channelConfiguration),
                    tlsConfiguration: tlsConfiguration))
        }
        let app = Application(
            router: Router(),
            server: server,
            configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "ceiling"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
        try await app.runService()
    }

    private static func relay(
        room: String, rooms: Rooms, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter
    ) async throws {
        let (outbox, continuation) = AsyncStream<WebSocketMessage>.makeStream(bufferingPolicy: .bufferingOldest(1024))
        let me = rooms.join(room, continuation)
        defer { rooms.leave(room, me) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await message in outbox {
                    switch message {
                    case .text(let text): try await outbound.write(.text(text))
                    case .binary(let buffer): try await outbound.write(.binary(buffer))
                    }
                }
            }
            var other: AsyncStream<WebSocketMessage>.Continuation?
            for try await message in inbound.messages(maxSize: 64 * 1024) {
                if other == nil { other = rooms.other(room, than: me) }
                other?.yield(message)
            }
            continuation.finish()
            group.cancelAll()
        }
    }

    /// Up to two sockets per room name; when the second arrives both get "ready".
    final class Rooms: Sendable {
        private struct Member {
            let id: Int
            let outbox: AsyncStream<WebSocketMessage>.Continuation
        }
        private let state = Mutex<(next: Int, rooms: [String: [Member]])>((0, [:]))

        func join(_ room: String, _ outbox: AsyncStream<WebSocketMessage>.Continuation) -> Int {
            state.withLock { state in
                state.next += 1
                var members = state.rooms[room, default: []]
                members.append(Member(id: state.next, outbox: outbox))
                state.rooms[room] = members
                if members.count == 2 { for member in members { member.outbox.yield(.text("ready")) } }
                return state.next
            }
        }

        func other(_ room: String, than id: Int) -> AsyncStream<WebSocketMessage>.Continuation? {
            state.withLock { $0.rooms[room]?.first { $0.id != id }?.outbox }
        }

        func leave(_ room: String, _ id: Int) {
            state.withLock { state in
                state.rooms[room]?.removeAll { $0.id == id }
                if state.rooms[room]?.isEmpty == true { state.rooms[room] = nil }
            }
        }
    }
}

/// The receive buffer `samrom serve` gives its connections
/// (`GuardedChildChannel`), given to the ceiling's too.
struct SmallReceiveBuffer<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let receive = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536)
        return channel.setOption(ChannelOptions.recvAllocator, value: receive).flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
