import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// The server's child channel (TLS, then HTTP/1 with the WebSocket upgrade)
/// with the connection guard added: `ConnectionGuardHandler` first, before
/// TLS, and `RequestHeadWatcher` right behind the HTTP decoder. Hummingbird's
/// own `additionalChannelHandlers` come too late for this: they are added
/// after the first request head has been read.
struct GuardedChildChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let base: Base
    let requestHeadTimeout: TimeAmount
    let connections: ConnectionsPerAddress

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let timeout = requestHeadTimeout
        let connections = connections
        // Every channel keeps its last receive buffer for the next read; NIO
        // starts it at 2 KiB and grows it when reads fill it, so an idle
        // connection that only ever read small frames keeps a small one.
        let receive = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536)
        return channel.setOption(ChannelOptions.recvAllocator, value: receive).flatMap {
            base.setup(channel: channel, logger: logger)
        }.flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let connectionGuard = ConnectionGuardHandler(headTimeout: timeout, connections: connections, logger: logger)
            try pipeline.addHandler(connectionGuard, position: .first)
            let decoder: ByteToMessageHandler<HTTPRequestDecoder>
            do {
                decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            } catch {
                // Hummingbird's pipeline changed: fail loudly rather than run unguarded.
                throw Failure(description: "no HTTP/1 decoder in the connection's pipeline to watch")
            }
            try pipeline.addHandler(RequestHeadWatcher(connectionGuard: connectionGuard), position: .after(decoder))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
