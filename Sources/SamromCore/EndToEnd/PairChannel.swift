import Foundation
import Sodium

/// What one device seals for, and opens from, one other participant of a
/// call (or itself): the pair's session keys and the two sealed formats of
/// docs/protocol.md, byte for byte the same as the browser's `e2e.js`.
///
/// Pair keys: of two participants, the one whose public key sorts lower as
/// bytes derives `(rx, tx)` with `crypto_kx_client_session_keys`, the other
/// with `crypto_kx_server_session_keys`. A channel to one's own key (the chat
/// copy a sender reads back from history) uses the `tx` of
/// `crypto_kx_client_session_keys(own, own)` both ways.
///
/// The server never holds one: the tests, the benchmarks and the browser
/// interop check use it as the reference client.
public struct PairChannel: Sendable {
    public let consultation: ConsultationID
    public let ownKeyID: String
    public let peerKeyID: String
    private let rx: SecureBytes
    private let tx: SecureBytes

    public init(consultation: ConsultationID, own: KeyExchange.KeyPair, peer: KeyExchange.PublicKey) throws {
        self.consultation = consultation
        ownKeyID = DeviceKey.keyID(own.publicKey)
        peerKeyID = DeviceKey.keyID(peer)
        if own.publicKey == peer {
            let keys = try KeyExchange.clientSessionKeys(own, serverPublicKey: peer)
            (rx, tx) = (keys.tx, keys.tx)
        } else if own.publicKey.bytes.lexicographicallyPrecedes(peer.bytes) {
            let keys = try KeyExchange.clientSessionKeys(own, serverPublicKey: peer)
            (rx, tx) = (keys.rx, keys.tx)
        } else {
            let keys = try KeyExchange.serverSessionKeys(own, clientPublicKey: peer)
            (rx, tx) = (keys.rx, keys.tx)
        }
    }

    // MARK: Signals

    /// utf8("samrom/signal/v2|" + consultation + "|" + senderKeyId + "|" + recipientKeyId)
    public static func signalAD(consultation: ConsultationID, senderKeyID: String, recipientKeyID: String) -> [UInt8] {
        Array("samrom/signal/v2|\(consultation.rawValue)|\(senderKeyID)|\(recipientKeyID)".utf8)
    }

    /// Seals the JSON text of a signal for the peer.
    public func sealSignal(json: [UInt8], nonce: [UInt8] = XChaCha20Poly1305.randomNonce()) throws -> SealedSignal {
        let ad = Self.signalAD(consultation: consultation, senderKeyID: ownKeyID, recipientKeyID: peerKeyID)
        let box = try seal(json, block: SealedSignal.paddingBlock, ad: ad, nonce: nonce)
        return SealedSignal(senderKeyId: ownKeyID, recipientKeyId: peerKeyID, nonce: Base64URL.encode(nonce), box: box)
    }

    public func seal(_ payload: SignalPayload, nonce: [UInt8] = XChaCha20Poly1305.randomNonce()) throws -> SealedSignal {
        try sealSignal(json: payload.json(), nonce: nonce)
    }

    /// Opens a signal from the peer to this device; any change to the box,
    /// nonce or either key id fails. Returns the JSON text.
    public func openSignal(_ signal: SealedSignal) throws -> [UInt8] {
        guard signal.senderKeyId == peerKeyID, signal.recipientKeyId == ownKeyID else { throw SodiumError(.verificationFailed, "not for this pair") }
        let ad = Self.signalAD(consultation: consultation, senderKeyID: signal.senderKeyId, recipientKeyID: signal.recipientKeyId)
        return try open(signal.box, nonce: signal.nonce, block: SealedSignal.paddingBlock, ad: ad)
    }

    public func open(_ signal: SealedSignal) throws -> SignalPayload {
        try SignalPayload(json: openSignal(signal))
    }

    // MARK: Chat copies

    /// utf8("samrom/chat/v2|" + consultation + "|" + clientMsgId + "|" + senderKeyId + "|" + recipientKeyId)
    public static func chatAD(consultation: ConsultationID, clientMsgId: String, senderKeyID: String, recipientKeyID: String) -> [UInt8] {
        Array("samrom/chat/v2|\(consultation.rawValue)|\(clientMsgId)|\(senderKeyID)|\(recipientKeyID)".utf8)
    }

    /// A chat message's text as sealed: `{"sentAt","text"}`.
    public struct ChatText: Sendable, Equatable, Codable {
        public var sentAt: String
        public var text: String
        public init(text: String, sentAt: String) {
            self.text = text
            self.sentAt = sentAt
        }
    }

    public func sealChat(_ message: ChatText, clientMsgId: String, nonce: [UInt8] = XChaCha20Poly1305.randomNonce()) throws -> ChatCopy {
        let ad = Self.chatAD(consultation: consultation, clientMsgId: clientMsgId, senderKeyID: ownKeyID, recipientKeyID: peerKeyID)
        let ciphertext = try seal(Array(try Self.json.encode(message)), block: ChatCopy.paddingBlock, ad: ad, nonce: nonce)
        return ChatCopy(recipientKeyId: peerKeyID, nonce: Base64URL.encode(nonce), ciphertext: ciphertext)
    }

    /// Opens a copy the peer sealed for this device (or, on a channel to
    /// oneself, a copy this device sealed for itself).
    public func openChat(_ stored: StoredChat) throws -> ChatText {
        guard stored.senderKeyId == peerKeyID, stored.copy.recipientKeyId == ownKeyID else {
            throw SodiumError(.verificationFailed, "not for this pair")
        }
        let ad = Self.chatAD(
            consultation: consultation, clientMsgId: stored.clientMsgId, senderKeyID: stored.senderKeyId, recipientKeyID: stored.copy.recipientKeyId)
        let plain = try open(stored.copy.ciphertext, nonce: stored.copy.nonce, block: ChatCopy.paddingBlock, ad: ad)
        return try JSONDecoder().decode(ChatText.self, from: Data(plain))
    }

    // MARK: The one seal and open

    private static var json: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    private func seal(_ plain: [UInt8], block: Int, ad: [UInt8], nonce: [UInt8]) throws -> String {
        var padded = try Padding.pad(plain, blockSize: block)
        defer { padded.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) } }
        return Base64URL.encode(try XChaCha20Poly1305.seal(padded, additionalData: ad, nonce: nonce, key: tx))
    }

    private func open(_ sealed: String, nonce: String, block: Int, ad: [UInt8]) throws -> [UInt8] {
        let plain = try XChaCha20Poly1305.open(
            try Base64URL.decode(sealed), additionalData: ad,
            nonce: try Base64URL.decode(nonce, length: XChaCha20Poly1305.nonceLength), key: rx)
        return try Padding.unpad(plain.copyBytes(), blockSize: block)
    }
}
