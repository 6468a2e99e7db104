import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOSSL
import NIOWebSocket
import Synchronization

/// One client WebSocket over TLS, as the load generator uses it: frames to
/// send go into an unbounded queue drained by the connection's writer;
/// frames received come out of `inbound`, in order. The same client talks to
/// Samrom, the bare-stack ceiling and SaltyRTC, so differences are the servers'.
final class BenchSocket: Sendable {
    enum Frame: Sendable {
        case text(String)
        case binary([UInt8])
    }

    private enum Outgoing: Sendable {
        case frame(Frame)
        case close
    }

    struct ConnectFailed: Error, CustomStringConvertible {
        let description: String
    }

    /// What the server sent, then the end of the connection.
    let inbound: AsyncStream<Frame>
    private let outgoing: AsyncStream<Outgoing>.Continuation
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)

    private init(inbound: AsyncStream<Frame>, outgoing: AsyncStream<Outgoing>.Continuation) {
        self.inbound = inbound
        self.outgoing = outgoing
    }

    /// Connects and waits until the upgrade is done.
    static func connect(
        _ url: String, headers: HTTPFields = [:], tls: TLSConfiguration, logger: Logger
    ) async throws -> BenchSocket {
        let (inbound, received) = AsyncStream<Frame>.makeStream()
        let (outgoingStream, outgoing) = AsyncStream<Outgoing>.makeStream()
        let (opened, openedContinuation) = AsyncStream<Result<Void, ConnectFailed>>.makeStream()
        let socket = BenchSocket(inbound: inbound, outgoing: outgoing)
        let client = WebSocketClient(
            url: url,
            configuration: .init(maxFrameSize: 1 << 20, additionalHeaders: headers, closeTimeout: .seconds(2), sniHostname: "localhost"),
            tlsConfiguration: tls,
            logger: logger
        ) { inboundStream, outbound, _ in
            openedContinuation.yield(.success(()))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await item in outgoingStream {
                        switch item {
                        case .frame(.text(let text)): try await outbound.write(.text(text))
                        case .frame(.binary(let bytes)): try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
                        case .close:
                            try await outbound.close(.normalClosure, reason: nil)
                            return
                        }
                    }
                }
                for try await message in inboundStream.messages(maxSize: 1 << 20) {
                    switch message {
                    case .text(let text): received.yield(.text(text))
                    case .binary(let buffer): received.yield(.binary(Array(buffer.readableBytesView)))
                    }
                }
                group.cancelAll()
            }
        }
        let task = Task {
            do {
                _ = try await client.run()
                openedContinuation.yield(.failure(ConnectFailed(description: "closed before it opened")))
            } catch {
                openedContinuation.yield(.failure(ConnectFailed(description: "\(error)")))
            }
            received.finish()
            outgoing.finish()
        }
        socket.task.withLock { $0 = task }
        for await result in opened {
            try result.get()
            return socket
        }
        throw ConnectFailed(description: "no upgrade")
    }

    func send(_ text: String) { outgoing.yield(.frame(.text(text))) }
    func send(_ bytes: [UInt8]) { outgoing.yield(.frame(.binary(bytes))) }

    /// A clean WebSocket close.
    func close() { outgoing.yield(.close) }

    /// Drops the TCP connection without a close handshake, as a network change does.
    func drop() { task.withLock { $0?.cancel() } }

    /// The next frame; nil when the connection ended. One reader at a time:
    /// `inbound` is a single-consumer stream.
    func next() async -> Frame? {
        var iterator = inbound.makeAsyncIterator()
        return await iterator.next()
    }

    /// The next text frame, binary ones skipped; nil when the connection ended.
    func nextText() async -> String? {
        while let frame = await next() {
            if case .text(let text) = frame { return text }
        }
        return nil
    }
}
