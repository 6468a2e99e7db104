import Foundation
import NIOSSL
import SamromCore
import Sodium

/// A reference client for the tests: one person's real WebSocket and this
/// device's key pair, speaking protocol v2 the way the browser does (device
/// key, sealed signals, one chat copy per recipient, the call code), with
/// the Swift reference crypto of `SamromCore/EndToEnd`.
public struct CallParticipant: Sendable {
    public let socket: WSTestClient
    public let consultation: ConsultationID
    public let keys: KeyExchange.KeyPair
    public let welcome: WSTestClient.Message
    /// The `admitted` message, for those who enter the call at once (the veileder, and on resume).
    public var admitted: WSTestClient.Message?
    public var participant: String { welcome.object("you")?.string("participant") ?? "" }
    public var role: String { welcome.object("you")?.string("role") ?? "" }
    public var resume: String { welcome.string("resume") ?? "" }
    public var keyID: String { DeviceKey.keyID(keys.publicKey) }
    public var publicKey: String { Base64URL.encode(keys.publicKey.bytes) }

    /// The owning veileder opens the consultation: welcome, then admitted.
    public static func veileder(
        port: Int, tls: TLSConfiguration, cookie: String, consultation: String, keys: KeyExchange.KeyPair = .generate()
    ) async throws -> CallParticipant {
        let socket = try await WSTestClient.connect(port: port, tls: tls, cookie: cookie)
        socket.send(["type": .string("hello"), "v": .int(2), "consultation": .string(consultation)])
        let welcome = try await socket.expect("welcome")
        let admitted = try await socket.expect("admitted", ignoring: ["roster", "knock"])
        return CallParticipant(
            socket: socket, consultation: ConsultationID(rawValue: consultation), keys: keys, welcome: welcome, admitted: admitted)
    }

    /// Someone with a join link (deltaker or tolk) knocks and waits in the lobby.
    public static func knock(
        port: Int, tls: TLSConfiguration, token: String, consultation: String, keys: KeyExchange.KeyPair = .generate()
    ) async throws -> CallParticipant {
        let socket = try await WSTestClient.connect(port: port, tls: tls)
        socket.send(["type": .string("hello"), "v": .int(2), "token": .string(token)])
        let welcome = try await socket.expect("welcome")
        try await socket.expect("lobby")
        return CallParticipant(socket: socket, consultation: ConsultationID(rawValue: consultation), keys: keys, welcome: welcome)
    }

    /// Comes back to a seat with the resume token of `earlier`, on a new socket, with the same device key.
    public static func resume(
        _ earlier: CallParticipant, port: Int, tls: TLSConfiguration, cookie: String? = nil
    ) async throws -> CallParticipant {
        let socket = try await WSTestClient.connect(port: port, tls: tls, cookie: cookie)
        socket.send(["type": .string("hello"), "v": .int(2), "resume": .string(earlier.resume)])
        let welcome = try await socket.expect("welcome")
        let admitted = try await socket.expect("admitted", ignoring: ["roster", "knock"])
        return CallParticipant(socket: socket, consultation: earlier.consultation, keys: earlier.keys, welcome: welcome, admitted: admitted)
    }

    /// Announces this device's key (on entering the call).
    public func announceKey() {
        socket.send(["type": .string("key"), "publicKey": .string(publicKey)])
    }

    public func channel(to peer: KeyExchange.PublicKey) throws -> PairChannel {
        try PairChannel(consultation: consultation, own: keys, peer: peer)
    }

    /// The frame of a sealed signal for `to`, whose device key is `peer`.
    public func signalFrame(_ payload: SignalPayload, to: String, peer: KeyExchange.PublicKey) throws -> WSTestClient.Message {
        let sealed = try channel(to: peer).seal(payload)
        return [
            "type": .string("signal"), "to": .string(to), "senderKeyId": .string(sealed.senderKeyId),
            "recipientKeyId": .string(sealed.recipientKeyId), "nonce": .string(sealed.nonce), "box": .string(sealed.box),
        ]
    }

    public func sendSignal(_ payload: SignalPayload, to other: CallParticipant) throws {
        socket.send(try signalFrame(payload, to: other.participant, peer: other.keys.publicKey))
    }

    /// Opens a received `signal` frame from `sender`.
    public func open(_ frame: WSTestClient.Message, from sender: KeyExchange.PublicKey) throws -> SignalPayload {
        let signal = SealedSignal(
            senderKeyId: frame.string("senderKeyId") ?? "", recipientKeyId: frame.string("recipientKeyId") ?? "",
            nonce: frame.string("nonce") ?? "", box: frame.string("box") ?? "")
        return try channel(to: sender).open(signal)
    }

    /// A chat frame with a sealed copy for each of `recipients` (include
    /// `keys.publicKey` for a copy to read back later).
    public func chatFrame(_ text: String, id: String, to recipients: [KeyExchange.PublicKey]) throws -> WSTestClient.Message {
        let message = PairChannel.ChatText(text: text, sentAt: "2026-12-04T10:00:00.000Z")
        let copies: [JSONValue] = try recipients.map { peer in
            let copy = try channel(to: peer).sealChat(message, clientMsgId: id)
            return .object([
                "recipientKeyId": .string(copy.recipientKeyId), "nonce": .string(copy.nonce), "ciphertext": .string(copy.ciphertext),
            ])
        }
        return ["type": .string("chat"), "clientMsgId": .string(id), "senderKeyId": .string(keyID), "copies": .array(copies)]
    }

    /// Opens a received `chat` frame (or a history entry) sent by the holder of `sender`.
    public func openChat(_ frame: WSTestClient.Message, from sender: KeyExchange.PublicKey) throws -> String {
        guard case .int(let seq)? = frame["seq"] else { throw TestFailure("no seq in \(frame)") }
        let stored = StoredChat(
            from: ParticipantID(rawValue: frame.string("from") ?? ""),
            senderRole: ParticipantRole(rawValue: frame.string("senderRole") ?? "") ?? .deltaker,
            clientMsgId: frame.string("clientMsgId") ?? "", senderKeyId: frame.string("senderKeyId") ?? "",
            copy: ChatCopy(
                recipientKeyId: frame.string("recipientKeyId") ?? "", nonce: frame.string("nonce") ?? "",
                ciphertext: frame.string("ciphertext") ?? ""),
            seq: UInt64(seq), storedAt: Date())
        return try channel(to: sender).openChat(stored).text
    }
}

extension WSTestClient {
    /// The next message of `type`, passing over messages of the `ignoring`
    /// types (rosters and keys arrive whenever someone moves); any other
    /// message is a failure.
    @discardableResult
    public func expect(_ type: String, ignoring: Set<String>, timeout: Duration = .seconds(10)) async throws -> Message {
        let deadline = ContinuousClock.now + timeout
        while true {
            let message = try await next(timeout: deadline - ContinuousClock.now)
            let actual = message.string("type") ?? ""
            if actual == type { return message }
            guard ignoring.contains(actual) else { throw TestFailure("expected \(type), got \(message)") }
        }
    }

    /// The next roster whose participants (in order) are `participants`,
    /// passing over earlier rosters and keys.
    @discardableResult
    public func expectRoster(_ participants: [String], withKeys: Bool = false, timeout: Duration = .seconds(10)) async throws -> Message {
        let deadline = ContinuousClock.now + timeout
        while true {
            let roster = try await expect("roster", ignoring: ["key", "roster"], timeout: deadline - ContinuousClock.now)
            let entries = roster.array("participants") ?? []
            let ids = entries.compactMap { entry -> String? in
                guard case .object(let object) = entry else { return nil }
                return object.string("participant")
            }
            let keyed = entries.allSatisfy { entry in
                guard case .object(let object) = entry else { return false }
                return object.string("keyId") != nil
            }
            if ids == participants && (!withKeys || keyed) { return roster }
        }
    }
}
