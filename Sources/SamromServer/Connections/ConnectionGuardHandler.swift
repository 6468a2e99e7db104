import Logging
import NIOCore
import NIOHTTP1

/// The first handler of every connection, before TLS: counts the connection
/// against its address's limit (closing it at once when over), and closes a
/// connection whose TLS handshake and request head take longer than the
/// limit (`RequestHeadDeadline`). `RequestHeadWatcher`, behind the HTTP
/// decoder, tells it when heads arrive and responses end.
final class ConnectionGuardHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let headTimeout: TimeAmount
    private let connections: ConnectionsPerAddress
    private let logger: Logger
    private var deadline = RequestHeadDeadline()
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    private var started = false
    /// The address this connection is counted under, until it closes.
    private var countedAddress: String?

    init(headTimeout: TimeAmount, connections: ConnectionsPerAddress, logger: Logger) {
        self.headTimeout = headTimeout
        self.connections = connections
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive {
            _ = start(context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        // Refused connections go no further: no TLS handshake is begun.
        if start(context: context) {
            context.fireChannelActive()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        perform(deadline.bytesArrived())
        context.fireChannelRead(data)
    }

    // Told by `RequestHeadWatcher`, on the same event loop.
    func headReceived() { perform(deadline.headReceived()) }
    func responseEnded() { perform(deadline.responseEnded()) }
    func stopWatching() { perform(deadline.stop()) }

    /// False when the address is over its limit and the connection is closed.
    private func start(context: ChannelHandlerContext) -> Bool {
        guard !started else { return true }
        started = true
        if let address = context.channel.remoteAddress?.ipAddress {
            guard connections.open(address) else {
                logger.debug("connection refused: too many from one address", metadata: ["limit": "\(connections.limit)"])
                context.close(promise: nil)
                return false
            }
            if !connections.exempt.contains(address) { countedAddress = address }
        }
        perform(deadline.connectionOpened())
        return true
    }

    private func finish() {
        timer?.cancel()
        timer = nil
        if let address = countedAddress {
            connections.close(address)
            countedAddress = nil
        }
    }

    private func perform(_ action: RequestHeadDeadline.Action) {
        switch action {
        case .none:
            break
        case .startTimer:
            timer?.cancel()
            guard let context else { return }
            timer = context.eventLoop.assumeIsolated().scheduleTask(in: headTimeout) { [self] in
                timer = nil
                perform(deadline.timerFired())
            }
        case .cancelTimer:
            timer?.cancel()
            timer = nil
        case .close:
            logger.debug("connection closed: request head not complete in time")
            context?.close(promise: nil)
        }
    }
}

/// Sits right behind the HTTP/1 decoder and tells `ConnectionGuardHandler`
/// when a request head is complete and when a response has ended. When the
/// first request asks for an upgrade it leaves the pipeline (a WebSocket's
/// frames are not HTTP parts) and the guard stops watching.
final class RequestHeadWatcher: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let connectionGuard: ConnectionGuardHandler
    private var isFirstHead = true

    init(connectionGuard: ConnectionGuardHandler) {
        self.connectionGuard = connectionGuard
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let head) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        connectionGuard.headReceived()
        // Only the first request can be upgraded (the upgrade handler leaves after it).
        let upgrading = isFirstHead && head.headers.contains(name: "upgrade")
        isFirstHead = false
        context.fireChannelRead(data)
        if upgrading {
            connectionGuard.stopWatching()
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            connectionGuard.responseEnded()
        }
        context.write(data, promise: promise)
    }
}
