import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Sends one plain-text mail at a time to an SMTP submission server
/// (RFC 5321, RFC 3207 STARTTLS, RFC 4954 AUTH PLAIN): connect, EHLO,
/// STARTTLS (required: without it nothing is sent), EHLO again over TLS,
/// AUTH PLAIN when a username is set, MAIL FROM, RCPT TO, DATA, QUIT. One
/// connection per mail; `SMTPSettings.timeout` bounds the whole exchange.
/// Nothing is logged; a failure's message names the step and the reply code,
/// never the address, the content or the server's reply text.
public struct SMTPClient: Sendable {
    public let settings: SMTPSettings
    private let group: any EventLoopGroup

    public init(settings: SMTPSettings, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.settings = settings
        self.group = eventLoopGroup
    }

    /// Sends `mail`, or throws an `SMTPFailure`. The addresses and the
    /// subject are checked before connecting (`.invalidMail`).
    public func send(_ mail: OutgoingMail) async throws {
        guard OutgoingMail.isPlausibleAddress(mail.to) else { throw SMTPFailure(.invalidMail, "the recipient is not a plausible address") }
        guard OutgoingMail.isPlausibleAddress(settings.from) else { throw SMTPFailure(.invalidMail, "the From address is not plausible") }
        guard OutgoingMail.isSafeSubject(mail.subject) else { throw SMTPFailure(.invalidMail, "the subject has control characters") }
        guard Self.isPlausibleHeloName(settings.heloName) else { throw SMTPFailure(.invalidMail, "the EHLO name is not a host name") }
        let tls: NIOSSLContext
        do {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.minimumTLSVersion = .tlsv12
            configuration.certificateVerification = .fullVerification
            if case .caFile(let path) = settings.trustRoots { configuration.trustRoots = .file(path) }
            tls = try NIOSSLContext(configuration: configuration)
        } catch {
            throw SMTPFailure(.tls, "the TLS configuration could not be made (CA file?)")
        }
        let message = SMTPMessage.render(
            mail, from: settings.from, date: Date(), messageID: SMTPMessage.messageID(from: settings.from))

        let timeout = settings.timeout
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await exchange(to: mail.to, message: message, tls: tls) }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw SMTPFailure(.timeout, "no answer within \(timeout)")
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// A host name (letters, digits, hyphens and dots) or an address literal
    /// (`[192.0.2.1]`, `[IPv6:…]`): nothing that could end the EHLO line.
    static func isPlausibleHeloName(_ name: String) -> Bool {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.:[]".utf8)
        return (1...253).contains(name.utf8.count) && name.utf8.allSatisfy(allowed.contains)
    }

    /// The dialogue, from connecting to QUIT; the connection is closed however it ends.
    private func exchange(to recipient: String, message: String, tls: NIOSSLContext) async throws {
        let (replies, continuation) = AsyncThrowingStream<SMTPReply, any Error>.makeStream()
        let channel: any Channel
        do {
            let (seconds, attoseconds) = settings.timeout.components
            let milliseconds = min(seconds, 3600) * 1000 + attoseconds / 1_000_000_000_000_000 + 1
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.milliseconds(milliseconds))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(SMTPReplyDecoder(continuation))
                    }
                }
                .connect(host: settings.host, port: settings.port).get()
        } catch {
            continuation.finish()
            throw SMTPFailure(.unreachable, "could not connect to the SMTP server")
        }
        var connection = SMTPConnection(channel: channel, replies: replies.makeAsyncIterator())
        do {
            try await dialogue(&connection, recipient: recipient, message: message, tls: tls)
            try? await channel.close()
        } catch {
            try? await channel.close()
            if Task.isCancelled { throw SMTPFailure(.timeout, "no answer in time") }
            throw error
        }
    }

    private func dialogue(_ connection: inout SMTPConnection, recipient: String, message: String, tls: NIOSSLContext) async throws {
        try await connection.expect(220, after: "connecting")
        var extensions = try await connection.command("EHLO \(settings.heloName)", expect: 250).extensions
        guard extensions.keys.contains("STARTTLS") else {
            try? await connection.send("QUIT")
            throw SMTPFailure(.noStartTLS, "the SMTP server does not offer STARTTLS")
        }
        try await connection.send("STARTTLS")
        let ready = try await connection.reply(after: "STARTTLS")
        guard ready.code == 220 else {
            try? await connection.send("QUIT")
            throw SMTPFailure(.noStartTLS, "the SMTP server refused STARTTLS (\(ready.code))")
        }
        try await connection.startTLS(tls, host: settings.host)
        do {
            extensions = try await connection.command("EHLO \(settings.heloName)", expect: 250).extensions
        } catch let failure as SMTPFailure where failure.code == .protocolError {
            // The handshake failed: the decoder saw the TLS error, or the server hung up.
            throw SMTPFailure(.tls, "the TLS handshake with the SMTP server failed")
        }
        if let username = settings.username, let password = settings.password {
            guard extensions["AUTH"]?.contains("PLAIN") == true else {
                try? await connection.send("QUIT")
                throw SMTPFailure(.protocolError, "the SMTP server does not offer AUTH PLAIN")
            }
            let credentials = Data([0] + Array(username.utf8) + [0] + Array(password.utf8)).base64EncodedString()
            try await connection.command("AUTH PLAIN \(credentials)", expect: 235, step: "AUTH")
        }
        try await connection.command("MAIL FROM:<\(settings.from)>", expect: 250, step: "MAIL FROM")
        try await connection.command("RCPT TO:<\(recipient)>", expect: 250, 251, step: "RCPT TO")
        try await connection.command("DATA", expect: 354)
        try await connection.write(SMTPMessage.dataBlock(message))
        try await connection.expect(250, after: "the message")
        // Sent: the server has taken the message. QUIT is a courtesy, and its
        // reply is not waited for, so a slow goodbye cannot turn a sent mail
        // into a timeout.
        try? await connection.send("QUIT")
    }
}

/// One reply: its code and the text of each line (after "250-" or "250 ").
struct SMTPReply: Sendable {
    var code: Int
    var lines: [String]

    /// An EHLO reply's extensions, keyword (upper case) → parameters.
    var extensions: [String: [String]] {
        var result: [String: [String]] = [:]
        for line in lines.dropFirst() {
            let words = line.split(separator: " ").map { String($0).uppercased() }
            if let keyword = words.first { result[keyword] = Array(words.dropFirst()) }
        }
        return result
    }
}

/// The dialogue's side of one connection: writes commands, reads replies.
private struct SMTPConnection {
    let channel: any Channel
    var replies: AsyncThrowingStream<SMTPReply, any Error>.AsyncIterator
    /// Replies taken so far, to tell that nothing came after STARTTLS's 220.
    var consumed = 0

    func write(_ text: String) async throws {
        do {
            try await channel.writeAndFlush(ByteBuffer(string: text)).get()
        } catch {
            throw SMTPFailure(.protocolError, "the SMTP server closed the connection")
        }
    }

    func send(_ command: String) async throws { try await write(command + "\r\n") }

    mutating func reply(after step: String) async throws -> SMTPReply {
        let next: SMTPReply?
        do {
            next = try await replies.next()
        } catch let failure as SMTPFailure {
            throw failure
        } catch {
            throw SMTPFailure(.protocolError, "the connection failed after \(step)")
        }
        guard let next else { throw SMTPFailure(.protocolError, "the SMTP server closed the connection after \(step)") }
        consumed += 1
        return next
    }

    /// Reads the reply to `step` and checks that it is one of `codes`.
    @discardableResult
    mutating func expect(_ codes: Int..., after step: String) async throws -> SMTPReply {
        try check(try await reply(after: step), codes, step)
    }

    /// Sends `command` and expects one of `codes`; `step` names it in failures
    /// (the command's first word unless given, so no address or credential).
    @discardableResult
    mutating func command(_ command: String, expect codes: Int..., step: String? = nil) async throws -> SMTPReply {
        let step = step ?? String(command.prefix { $0 != " " })
        try await send(command)
        return try check(try await reply(after: step), codes, step)
    }

    private func check(_ reply: SMTPReply, _ codes: [Int], _ step: String) throws -> SMTPReply {
        guard codes.contains(reply.code) else {
            if (400..<600).contains(reply.code) { throw SMTPFailure(.refused(reply.code), "the SMTP server refused \(step) (\(reply.code))") }
            throw SMTPFailure(.protocolError, "unexpected reply \(reply.code) to \(step)")
        }
        return reply
    }

    /// Puts TLS under the dialogue, right after STARTTLS's 220. Anything the
    /// server sent after that 220 came in clear and is refused, so no one on
    /// the path can slip a reply in ahead of the encrypted ones (CVE-2011-0411).
    func startTLS(_ context: NIOSSLContext, host: String) async throws {
        let consumed = self.consumed
        let channel = self.channel
        // NIOSSL checks an IP address against the certificate's IP entries when no name is given.
        let isIPAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        do {
            try await channel.eventLoop.submit {
                let decoder = try channel.pipeline.syncOperations.handler(type: SMTPReplyDecoder.self)
                guard decoder.replies == consumed, !decoder.hasBufferedInput else {
                    throw SMTPFailure(.protocolError, "the SMTP server sent more after agreeing to STARTTLS")
                }
                let handler = try NIOSSLClientHandler(context: context, serverHostname: isIPAddress ? nil : host)
                try channel.pipeline.syncOperations.addHandler(handler, position: .first)
            }.get()
        } catch let failure as SMTPFailure {
            throw failure
        } catch {
            throw SMTPFailure(.tls, "TLS could not be started")
        }
    }
}

/// Reads the server's bytes as SMTP replies (RFC 5321 §4.2): lines ending in
/// CRLF (a bare LF is taken too), "250-" continuing a reply and "250 " or a
/// bare "250" ending it. Each reply goes to the dialogue's stream; an error
/// in the pipeline (a failed TLS handshake among them) ends the stream with
/// `.tls` or `.protocolError`. Lines are at most 2,048 bytes and a reply at
/// most 200 lines, else the connection is closed.
final class SMTPReplyDecoder: ChannelInboundHandler, @unchecked Sendable {
    // @unchecked: used on its channel's event loop only (the pipeline's handlers are).
    typealias InboundIn = ByteBuffer

    private let continuation: AsyncThrowingStream<SMTPReply, any Error>.Continuation
    private var buffer = ByteBuffer()
    private var pending: (code: Int, lines: [String])?
    /// Replies handed to the dialogue so far.
    private(set) var replies = 0
    /// Bytes received that are not yet a whole reply.
    var hasBufferedInput: Bool { buffer.readableBytes > 0 || pending != nil }

    init(_ continuation: AsyncThrowingStream<SMTPReply, any Error>.Continuation) {
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        while let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - buffer.readerIndex + 1
            var bytes = buffer.readBytes(length: length) ?? []
            bytes.removeLast()
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
            guard bytes.count <= 2048, take(bytes) else { return fail(context, "the SMTP server sent something that is not a reply") }
        }
        if buffer.readableBytes > 2048 { return fail(context, "the SMTP server sent an overlong line") }
        buffer.discardReadBytes()
    }

    /// One line; false when it is not part of a reply.
    private func take(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 3, bytes[0..<3].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            let code = Int(String(decoding: bytes[0..<3], as: UTF8.self)), (200..<600).contains(code)
        else { return false }
        let separator = bytes.count > 3 ? bytes[3] : UInt8(ascii: " ")
        guard separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else { return false }
        let text = bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : ""
        var reply = pending ?? (code: code, lines: [])
        guard reply.code == code, reply.lines.count < 200 else { return false }
        reply.lines.append(text)
        if separator == UInt8(ascii: "-") {
            pending = reply
        } else {
            pending = nil
            replies += 1
            continuation.yield(SMTPReply(code: code, lines: reply.lines))
        }
        return true
    }

    private func fail(_ context: ChannelHandlerContext, _ message: String) {
        continuation.finish(throwing: SMTPFailure(.protocolError, message))
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let tls = error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError
        continuation.finish(
            throwing: tls
                ? SMTPFailure(.tls, "the TLS handshake with the SMTP server failed")
                : SMTPFailure(.protocolError, "the connection to the SMTP server failed"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }
}
