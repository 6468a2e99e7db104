import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// `samrom doctor`'s TURN check (issue 18): a real allocation against the
/// configured TURN server with TURN REST credentials made from the configured
/// secret exactly as browsers get them (`IceServerProvider.restCredentials`),
/// then freed again.
///
/// Allocate without credentials, expect 401 with REALM and NONCE; Allocate
/// again with USERNAME, REALM, NONCE and MESSAGE-INTEGRITY (a 438 Stale Nonce
/// is retried once with the new nonce); on success check the answer's
/// MESSAGE-INTEGRITY and read XOR-RELAYED-ADDRESS; then Refresh with LIFETIME
/// 0 to free the allocation. Over UDP (retransmitted, RFC 5389 7.2.1), TCP
/// (messages framed by their length) or TLS for `turns:` (certificate and
/// host name checked against the system's trust store, plus an optional CA).
///
/// Neither the secret nor the credential is ever logged or put in an outcome.
public enum TurnProbe {
    /// What happened, for an operator.
    public enum Outcome: Sendable, Equatable, CustomStringConvertible {
        /// The server made an allocation (since freed); `relay` is its relayed address.
        case allocated(relay: String)
        /// 401 with our credentials: the secret differs, or the clocks do.
        case unauthorized
        /// Any other error answer.
        case refused(code: Int, reason: String)
        /// Nothing answered within the timeout.
        case noAnswer
        /// Could not connect: unknown host, connection refused, no route.
        case unreachable(String)
        case tlsFailed(String)
        case badURL(String)
        case malformedAnswer(String)

        public var description: String {
            switch self {
            case .allocated(let relay):
                "a TURN allocation was made with the configured secret (relayed address \(relay)) and freed again"
            case .unauthorized:
                "the TURN server refused the credentials made from the configured secret (401): the secret is not the "
                    + "static-auth-secret coturn has, or this machine's clock and the TURN server's differ by more than "
                    + "\(Int(TurnProbe.credentialLifetime / 60)) minutes"
            case .refused(let code, let reason):
                "the TURN server refused the allocation: \(code) \(reason.isEmpty ? "(no reason given)" : reason)"
            case .noAnswer:
                "nothing answered: no TURN server is listening there, or a firewall drops the packets"
            case .unreachable(let why):
                "cannot reach the TURN server: \(why)"
            case .tlsFailed(let why):
                "the TLS connection to the TURN server failed: \(why)"
            case .badURL(let why):
                "the TURN URL is not usable: \(why)"
            case .malformedAnswer(let why):
                "the TURN server's answer could not be read: \(why)"
            }
        }
    }

    /// A `turn:` or `turns:` URL taken apart (RFC 7065).
    public struct Target: Sendable, Equatable {
        public enum Transport: String, Sendable {
            case udp, tcp, tls
        }

        /// Without brackets for IPv6.
        public let host: String
        public let port: Int
        public let transport: Transport

        /// `turn:host[:port][?transport=udp|tcp]` (default port 3478, UDP) or
        /// `turns:host[:port][?transport=tcp]` (default 5349, TLS over TCP);
        /// an IPv6 address in brackets. Throws the reason it is not usable.
        public init(url: String) throws(TargetError) {
            let scheme: String
            if url.hasPrefix("turn:") {
                scheme = "turn"
            } else if url.hasPrefix("turns:") {
                scheme = "turns"
            } else {
                throw TargetError("\"\(url.prefix(64))\" is not a turn: or turns: URL (RFC 7065)")
            }
            var rest = Substring(url.dropFirst(scheme.count + 1))
            var transport: Transport = scheme == "turns" ? .tls : .udp
            if let question = rest.firstIndex(of: "?") {
                let query = rest[rest.index(after: question)...]
                rest = rest[..<question]
                switch (scheme, query) {
                case ("turn", "transport=udp"): transport = .udp
                case ("turn", "transport=tcp"): transport = .tcp
                case ("turns", "transport=tcp"): transport = .tls
                case ("turns", "transport=udp"): throw TargetError("turns: over UDP (DTLS) is not supported")
                default: throw TargetError("\"?\(query.prefix(64))\" is not ?transport=udp or ?transport=tcp")
                }
            }
            let host: Substring
            var portText: Substring?
            if rest.hasPrefix("[") {
                guard let close = rest.firstIndex(of: "]") else { throw TargetError("the IPv6 address has no closing ]") }
                host = rest[rest.index(after: rest.startIndex)..<close]
                let after = rest[rest.index(after: close)...]
                if !after.isEmpty {
                    guard after.hasPrefix(":") else { throw TargetError("\"\(after.prefix(64))\" after the IPv6 address") }
                    portText = after.dropFirst()
                }
                guard host.contains(":"), host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                    throw TargetError("[\(host.prefix(64))] is not an IPv6 address")
                }
            } else {
                if let colon = rest.firstIndex(of: ":") {
                    host = rest[..<colon]
                    portText = rest[rest.index(after: colon)...]
                } else {
                    host = rest
                }
                guard host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }) else {
                    throw TargetError("\"\(host.prefix(64))\" is not a host name or IPv4 address")
                }
            }
            guard !host.isEmpty, host.count < 254 else { throw TargetError("the URL names no host") }
            var port = scheme == "turns" ? 5349 : 3478
            if let portText {
                guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy(\.isASCII), let number = Int(portText),
                    (1...65535).contains(number)
                else { throw TargetError("\"\(portText.prefix(16))\" is not a port (1–65535)") }
                port = number
            }
            self.host = String(host)
            self.port = port
            self.transport = transport
        }
    }

    public struct TargetError: Error, Equatable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// How long the probe's credentials are valid: a clock this far from the
    /// TURN server's makes them expired (or not yet usable) there.
    public static let credentialLifetime: TimeInterval = 600
    /// The name in the probe's TURN REST username, `<expiry>:samrom-doctor`.
    public static let credentialName = "samrom-doctor"

    /// Makes one allocation at `url` with REST credentials from `secret` and
    /// frees it; the whole probe takes at most `timeout`. `caFile` (PEM) is
    /// trusted for `turns:` besides the system's roots.
    public static func probe(
        url: String, secret: [UInt8], timeout: Duration = .seconds(5), now: Date = Date(), caFile: String? = nil,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async -> Outcome {
        let target: Target
        do {
            target = try Target(url: url)
        } catch {
            return .badURL(error.description)
        }
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        let expiry = Int(now.timeIntervalSince1970 + credentialLifetime)
        let (username, password) = IceServerProvider.restCredentials(for: credentialName, expiry: expiry, secret: secret)
        let connection: Connection
        do {
            connection = try await Connection.open(target, deadline: deadline, caFile: caFile, group: eventLoopGroup)
        } catch {
            return outcome(of: error, target)
        }
        defer { connection.close() }
        do {
            return try await allocate(connection, username: username, password: password, deadline: deadline)
        } catch {
            return outcome(of: error, target)
        }
    }

    // MARK: - The exchange

    static let udp: UInt8 = 17

    private static func allocate(_ connection: Connection, username: String, password: String, deadline: NIODeadline) async throws -> Outcome {
        let first = try await connection.transact(.request(.allocate, [.requestedTransport(udp)]), key: nil, deadline: deadline)
        switch first.message.messageClass {
        case .successResponse:
            // A server without authentication: it allocated for anyone.
            let relay = first.message.xorRelayedAddress?.description ?? "not given"
            _ = try? await connection.transact(.request(.refresh, [.lifetime(0)]), key: nil, deadline: deadline)
            return .allocated(relay: relay)
        case .errorResponse:
            break
        case .request, .indication:
            return .malformedAnswer("it answered an Allocate request with a \(first.message.messageClass)")
        }
        guard let error = first.message.errorCode else { return .malformedAnswer("an error answer without ERROR-CODE") }
        guard error.code == 401 else { return .refused(code: error.code, reason: error.reason) }
        guard let realm = first.message.realm, var nonce = first.message.nonce else {
            return .malformedAnswer("a 401 answer without REALM and NONCE (is it a TURN server with long-term credentials?)")
        }
        let key = STUNMessage.longTermKey(username: username, realm: realm, password: password)
        func authenticated(_ method: STUNMessage.Method, _ attributes: [STUNMessage.Attribute]) -> STUNMessage {
            .request(method, attributes + [.username(username), .realm(realm), .nonce(nonce)])
        }

        var answer = try await connection.transact(authenticated(.allocate, [.requestedTransport(udp)]), key: key, deadline: deadline)
        if answer.message.errorCode?.code == 438, let fresh = answer.message.nonce {
            nonce = fresh
            answer = try await connection.transact(authenticated(.allocate, [.requestedTransport(udp)]), key: key, deadline: deadline)
        }
        switch answer.message.messageClass {
        case .successResponse:
            break
        case .errorResponse:
            guard let error = answer.message.errorCode else { return .malformedAnswer("an error answer without ERROR-CODE") }
            return error.code == 401 ? .unauthorized : .refused(code: error.code, reason: error.reason)
        case .request, .indication:
            return .malformedAnswer("it answered an Allocate request with a \(answer.message.messageClass)")
        }
        guard STUNMessage.integrityIsValid(answer.bytes, key: key) else {
            return .malformedAnswer("the allocation's answer has no valid MESSAGE-INTEGRITY for our credentials")
        }
        guard let relay = answer.message.xorRelayedAddress else {
            return .malformedAnswer("the allocation's answer has no XOR-RELAYED-ADDRESS")
        }

        // Free it; best effort (it expires by itself in ten minutes otherwise).
        if let refreshed = try? await connection.transact(authenticated(.refresh, [.lifetime(0)]), key: key, deadline: deadline),
            refreshed.message.errorCode?.code == 438, let fresh = refreshed.message.nonce
        {
            nonce = fresh
            _ = try? await connection.transact(authenticated(.refresh, [.lifetime(0)]), key: key, deadline: deadline)
        }
        return .allocated(relay: relay.description)
    }

    /// What went wrong below the STUN exchange, in an operator's words.
    private static func outcome(of error: any Error, _ target: Target) -> Outcome {
        let place = "\(target.host.contains(":") ? "[\(target.host)]" : target.host) port \(target.port)"
        switch error {
        case let failure as ProbeFailure:
            switch failure {
            case .timeout: return .noAnswer
            case .lookupTimeout: return .unreachable("\(target.host) could not be looked up in time (DNS)")
            case .closed: return .unreachable("\(place) closed the connection without answering")
            case .malformed(let why): return .malformedAnswer(why)
            case .caFile(let why): return .tlsFailed(why)
            }
        case let error as NIOConnectionError:
            if error.connectionErrors.isEmpty {
                return .unreachable("\(target.host) is an unknown host name")
            }
            let refused = error.connectionErrors.contains { ($0.error as? IOError)?.errnoCode == ECONNREFUSED }
            if refused { return .unreachable("nothing accepts connections on \(place) (connection refused)") }
            return .unreachable("\(place): \(error.connectionErrors.map { "\($0.error)" }.joined(separator: "; "))")
        case ChannelError.connectTimeout:
            return .noAnswer
        case is SocketAddressError:
            return .unreachable("\(target.host) is an unknown host name")
        case let error as IOError where error.errnoCode == ECONNREFUSED:
            return .unreachable("nothing accepts connections on \(place) (connection refused)")
        case let error as IOError:
            return .unreachable("\(place): \(error)")
        case is NIOSSLError, is NIOSSLExtraError, is BoringSSLError:
            let text = String(describing: error)
            if text.contains("failedToValidateHostname") {
                return .tlsFailed("its certificate is not for \(target.host)")
            }
            if text.contains("CERTIFICATE_VERIFY_FAILED") {
                return .tlsFailed(
                    "its certificate is not trusted: not issued by a certificate authority this machine trusts "
                        + "(or the CA file given), or expired")
            }
            return .tlsFailed("the handshake failed (\(text))")
        case let error as STUNMessage.DecodingError:
            return .malformedAnswer(error.reason)
        default:
            return .unreachable("\(place): \(error)")
        }
    }

    /// The first error on a channel, readable from any thread.
    final class FailureBox: @unchecked Sendable {
        private let lock = NSLock()
        private var first: (any Error)?

        var error: (any Error)? { lock.withLock { first } }

        func record(_ error: any Error) {
            lock.withLock { if first == nil { first = error } }
        }
    }

    enum ProbeFailure: Error {
        case timeout, lookupTimeout, closed
        case malformed(String)
        case caFile(String)
    }

    // MARK: - Transport

    /// One channel to the TURN server and its `STUNTransactionHandler`.
    struct Connection: Sendable {
        let channel: any Channel
        /// Where datagrams go; nil on a stream.
        let remote: SocketAddress?
        /// Why the channel closed, kept after its handlers are gone (a TLS
        /// handshake can fail before the first request is sent).
        let failure: FailureBox

        static func open(_ target: Target, deadline: NIODeadline, caFile: String?, group: any EventLoopGroup) async throws -> Connection {
            switch target.transport {
            case .udp:
                // Resolved on the thread pool: getaddrinfo blocks. The socket is
                // not connected, so an ICMP "port unreachable" is not an error:
                // UDP that nobody answers is `noAnswer`, as behind a firewall.
                let host = target.host
                let port = target.port
                let loop = group.next()
                let resolved = loop.makePromise(of: SocketAddress.self)
                NIOThreadPool.singleton.runIfActive(eventLoop: loop) {
                    try SocketAddress.makeAddressResolvingHost(host, port: port)
                }.cascade(to: resolved)
                // A lookup that hangs is given up at the deadline (a promise completed twice keeps the first result).
                let lookupTimer = loop.scheduleTask(deadline: deadline) { resolved.fail(ProbeFailure.lookupTimeout) }
                let remote = try await resolved.futureResult.get()
                lookupTimer.cancel()
                let failure = FailureBox()
                let channel = try await DatagramBootstrap(group: group)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandlers(
                                DatagramFilter(remote: remote), STUNTransactionHandler(remote: remote, failure: failure))
                        }
                    }
                    .bind(host: remote.protocol == .inet6 ? "::" : "0.0.0.0", port: 0).get()
                return Connection(channel: channel, remote: remote, failure: failure)
            case .tcp, .tls:
                var context: NIOSSLContext?
                if target.transport == .tls {
                    var tls = TLSConfiguration.makeClientConfiguration()
                    if let caFile {
                        guard let certificates = try? NIOSSLCertificate.fromPEMFile(caFile), !certificates.isEmpty else {
                            throw ProbeFailure.caFile("no PEM certificate could be read from \(caFile)")
                        }
                        tls.additionalTrustRoots = [.certificates(certificates)]
                    }
                    context = try NIOSSLContext(configuration: tls)
                }
                // SNI takes a name only; an IP address is checked against the peer's address.
                let isAddress = target.host.contains(":") || target.host.allSatisfy { $0.isNumber || $0 == "." }
                let serverName = isAddress ? nil : target.host
                let failure = FailureBox()
                let remaining = deadline - .now()
                guard remaining > .zero else { throw ProbeFailure.timeout }
                let channel = try await ClientBootstrap(group: group)
                    .connectTimeout(remaining)
                    .channelInitializer { [context] channel in
                        channel.eventLoop.makeCompletedFuture {
                            let pipeline = channel.pipeline.syncOperations
                            if let context {
                                try pipeline.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverName))
                            }
                            try pipeline.addHandler(ByteToMessageHandler(STUNFrameDecoder()))
                            try pipeline.addHandler(STUNTransactionHandler(remote: nil, failure: failure))
                        }
                    }
                    .connect(host: target.host, port: target.port).get()
                return Connection(channel: channel, remote: nil, failure: failure)
            }
        }

        /// Sends `request` (with MESSAGE-INTEGRITY under `key`) and waits for
        /// the answer with its transaction id, until `deadline`.
        func transact(_ request: STUNMessage, key: [UInt8]?, deadline: NIODeadline) async throws -> (message: STUNMessage, bytes: [UInt8]) {
            guard deadline > .now() else { throw ProbeFailure.timeout }
            let channel = self.channel
            let failure = self.failure
            let bytes = request.encoded(integrityKey: key)
            let promise = channel.eventLoop.makePromise(of: [UInt8].self)
            channel.eventLoop.execute {
                do {
                    let handler = try channel.pipeline.syncOperations.handler(type: STUNTransactionHandler.self)
                    handler.begin(bytes, transactionID: request.transactionID, deadline: deadline, promise: promise)
                } catch {
                    promise.fail(failure.error ?? error)
                }
            }
            let answer = try await promise.futureResult.get()
            do {
                return (try STUNMessage(decoding: answer), answer)
            } catch {
                throw ProbeFailure.malformed(error.reason)
            }
        }

        func close() {
            channel.close(promise: nil)
        }
    }
}

/// Passes on only the datagrams from the TURN server, unwrapped.
final class DatagramFilter: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias InboundOut = ByteBuffer

    private let remote: SocketAddress

    init(remote: SocketAddress) {
        self.remote = remote
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard envelope.remoteAddress == remote else { return }
        context.fireChannelRead(wrapInboundOut(envelope.data))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A datagram socket's errors (an ICMP error on a later read) are not
        // the answer: the transaction's timeout decides.
    }
}

/// Cuts a TCP or TLS byte stream into STUN messages by their length field.
struct STUNFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let prefix = buffer.getBytes(at: buffer.readerIndex, length: min(4, buffer.readableBytes)),
            let length = try STUNMessage.frameLength(prefix),
            let frame = buffer.readSlice(length: length)
        else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// One STUN transaction at a time on its channel: sends the request (again
/// at 0.5, 1.5, 3.5 … s on UDP, RFC 5389 7.2.1), completes the promise with
/// the first answer bearing its transaction id, or fails it at the deadline,
/// on an error or when the connection closes. Lives on its event loop.
final class STUNTransactionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private struct Transaction {
        let id: [UInt8]
        let promise: EventLoopPromise<[UInt8]>
        var timers: [Scheduled<Void>]
    }

    private let remote: SocketAddress?
    private var context: ChannelHandlerContext?
    private var current: Transaction?
    /// Why the channel can carry no more transactions.
    private let failure: TurnProbe.FailureBox

    init(remote: SocketAddress?, failure: TurnProbe.FailureBox) {
        self.remote = remote
        self.failure = failure
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        finish(.failure(failure.error ?? TurnProbe.ProbeFailure.closed))
    }

    func begin(_ request: [UInt8], transactionID: [UInt8], deadline: NIODeadline, promise: EventLoopPromise<[UInt8]>) {
        guard let context else { return promise.fail(failure.error ?? TurnProbe.ProbeFailure.closed) }
        if let error = failure.error { return promise.fail(error) }
        finish(.failure(TurnProbe.ProbeFailure.closed))
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        var timers = [loop.scheduleTask(deadline: deadline) { bound.value.finish(.failure(TurnProbe.ProbeFailure.timeout)) }]
        if remote != nil {
            var at = NIODeadline.now()
            var interval = TimeAmount.milliseconds(500)
            for _ in 0..<6 {
                at = at + interval
                interval = interval + interval
                guard at < deadline else { break }
                timers.append(loop.scheduleTask(deadline: at) { bound.value.send(request) })
            }
        }
        current = Transaction(id: transactionID, promise: promise, timers: timers)
        send(request)
    }

    private func send(_ request: [UInt8]) {
        guard let context, current != nil else { return }
        let buffer = context.channel.allocator.buffer(bytes: request)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let written: EventLoopFuture<Void>
        if let remote {
            written = context.channel.writeAndFlush(AddressedEnvelope(remoteAddress: remote, data: buffer))
        } else {
            written = context.channel.writeAndFlush(buffer)
        }
        written.whenFailure { bound.value.fail($0) }
    }

    private func finish(_ result: Result<[UInt8], any Error>) {
        guard let transaction = current else { return }
        current = nil
        transaction.timers.forEach { $0.cancel() }
        transaction.promise.completeWith(result)
    }

    private func fail(_ error: any Error) {
        failure.record(error)
        finish(.failure(failure.error ?? error))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard let transaction = current, buffer.readableBytes >= STUNMessage.headerLength,
            buffer.getBytes(at: buffer.readerIndex + 8, length: 12) == transaction.id
        else { return }
        finish(.success(Array(buffer.readableBytesView)))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(TurnProbe.ProbeFailure.closed)
        context.fireChannelInactive()
    }
}
