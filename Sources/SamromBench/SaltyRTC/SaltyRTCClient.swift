import Foundation
import HTTPTypes
import Logging
import NIOSSL
import Sodium

/// A minimal SaltyRTC client (saltyrtc-meta Protocol.md, "Client-to-Server
/// Messages"): the server handshake for an initiator or a responder, then
/// frames to the other client's address, which the server relays as they are.
/// Enough to drive a real SaltyRTC server as a black box; no peer handshake
/// or task (the server never sees those either: they are end-to-end).
final class SaltyRTCClient: Sendable {
    static let subprotocol = "v1.saltyrtc.org"

    struct ProtocolError: Error, CustomStringConvertible {
        let description: String
    }

    let socket: BenchSocket
    /// The address the server assigned: 0x01 for the initiator, 0x02… for responders.
    let address: UInt8
    private let cookie: [UInt8]

    private init(socket: BenchSocket, address: UInt8, cookie: [UInt8]) {
        self.socket = socket
        self.address = address
        self.cookie = cookie
    }

    /// Connects to the path of `initiatorKey` and completes the server handshake.
    /// `permanent` is this client's own key pair (the initiator's is the path).
    static func connect(
        port: Int, initiatorKey: [UInt8], permanent: Box.KeyPair, asInitiator: Bool, pingInterval: Int, tls: TLSConfiguration,
        logger: Logger
    ) async throws -> SaltyRTCClient {
        let path = initiatorKey.map { String(format: "%02x", $0) }.joined()
        var headers = HTTPFields()
        headers[HTTPField.Name("Sec-WebSocket-Protocol")!] = subprotocol
        let socket = try await BenchSocket.connect("wss://127.0.0.1:\(port)/\(path)", headers: headers, tls: tls, logger: logger)
        do {
            var nonces = NonceCounter()
            // server-hello: unencrypted, carries the server's session key.
            let hello = try await nextBinary(socket)
            guard hello.count > 24 else { throw ProtocolError(description: "server-hello too short") }
            let serverCookie = Array(hello[0..<16])
            let serverHello = try MessagePack.decode(hello[24...])
            guard serverHello["type"] == .string("server-hello"), case .binary(let sessionKey)? = serverHello["key"],
                sessionKey.count == Box.publicKeyLength
            else { throw ProtocolError(description: "expected server-hello") }
            var cookie = Random.bytes(16)
            while cookie == serverCookie { cookie = Random.bytes(16) }

            if !asInitiator {
                let clientHello = MessagePack.map([("type", .string("client-hello")), ("key", .binary(permanent.publicKey))])
                socket.send(nonces.next(cookie: cookie, source: 0, destination: 0) + clientHello.encoded())
            }
            let auth = MessagePack.map([
                ("type", .string("client-auth")),
                ("your_cookie", .binary(serverCookie)),
                ("subprotocols", .array([.string(subprotocol)])),
                ("ping_interval", .int(Int64(pingInterval))),
            ])
            let nonce = nonces.next(cookie: cookie, source: 0, destination: 0)
            socket.send(nonce + (try Box.seal(auth.encoded(), nonce: nonce, to: sessionKey, from: permanent.secretKey)))

            // server-auth: boxed to us; its nonce names our address.
            let reply = try await nextBinary(socket)
            guard reply.count > 24 + Box.tagLength else { throw ProtocolError(description: "server-auth too short") }
            let replyNonce = Array(reply[0..<24])
            let opened = try Box.open(Array(reply[24...]), nonce: replyNonce, from: sessionKey, to: permanent.secretKey)
            let serverAuth = try MessagePack.decode(opened)
            guard serverAuth["type"] == .string("server-auth"), serverAuth["your_cookie"] == .binary(cookie) else {
                throw ProtocolError(description: "expected server-auth with our cookie")
            }
            let address = replyNonce[17]
            guard asInitiator ? address == 1 : address >= 2 else { throw ProtocolError(description: "unexpected address \(address)") }
            return SaltyRTCClient(socket: socket, address: address, cookie: cookie)
        } catch {
            socket.drop()
            throw error
        }
    }

    /// The initiator's `new-responder {id}`: a boxed frame from the server to
    /// our address (its content is not needed: the responder's address is known).
    func awaitNewResponder() async throws {
        let frame = try await Self.nextBinary(socket)
        guard frame.count > 24 + Box.tagLength, frame[17] == address else { throw ProtocolError(description: "expected new-responder") }
    }

    /// A frame to `destination`, relayed by the server untouched: a nonce
    /// header (cookie, source, destination, overflow, sequence) and the payload.
    func relayFrame(to destination: UInt8, sequence: UInt32, payload: [UInt8]) -> [UInt8] {
        var frame = cookie
        frame.reserveCapacity(24 + payload.count)
        frame += [address, destination, 0, 0]
        withUnsafeBytes(of: sequence.bigEndian) { frame += $0 }
        frame += payload
        return frame
    }

    private static func nextBinary(_ socket: BenchSocket) async throws -> [UInt8] {
        while let frame = await socket.next() {
            if case .binary(let bytes) = frame { return bytes }
        }
        throw ProtocolError(description: "the server closed the connection")
    }

    /// The combined sequence number of messages to the server: random start, +1 each.
    private struct NonceCounter {
        var sequence = UInt32(Random.uniform(UInt32.max / 2))

        mutating func next(cookie: [UInt8], source: UInt8, destination: UInt8) -> [UInt8] {
            defer { sequence += 1 }
            var nonce = cookie + [source, destination, 0, 0]
            withUnsafeBytes(of: sequence.bigEndian) { nonce += $0 }
            return nonce
        }
    }
}
