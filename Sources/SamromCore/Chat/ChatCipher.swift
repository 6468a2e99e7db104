import Foundation
import Sodium

/// The end-to-end chat construction of the brief, on one device: the same
/// bytes as the browser's `e2e.js`. The deltaker is the kx client, the
/// veileder the kx server. Used by the tests and benchmarks as a reference
/// client; the server never holds a ChatCipher.
public struct ChatCipher: Sendable {
    public let consultation: ConsultationID
    public let role: ParticipantRole
    public let ownPublicKey: KeyExchange.PublicKey
    public let peerPublicKey: KeyExchange.PublicKey
    private let keys: KeyExchange.SessionKeys

    public init(consultation: ConsultationID, role: ParticipantRole, own: KeyExchange.KeyPair, peer: KeyExchange.PublicKey) throws {
        self.consultation = consultation
        self.role = role
        self.ownPublicKey = own.publicKey
        self.peerPublicKey = peer
        keys = role == .deltaker
            ? try KeyExchange.clientSessionKeys(own, serverPublicKey: peer)
            : try KeyExchange.serverSessionKeys(own, clientPublicKey: peer)
    }

    public var ownKeyID: String { ChatKey.keyID(ownPublicKey) }
    public var peerKeyID: String { ChatKey.keyID(peerPublicKey) }
    public var safetyCode: String { ChatKey.safetyCode(ownPublicKey, peerPublicKey) }

    /// utf8 "samrom/chat/v1|" + consultation + "|" + senderRole + "|" +
    /// clientMsgId + "|" + senderKeyId + "|" + recipientKeyId.
    public static func associatedData(
        consultation: ConsultationID, senderRole: ParticipantRole, clientMsgId: String, senderKeyID: String, recipientKeyID: String
    ) -> [UInt8] {
        Array("samrom/chat/v1|\(consultation.rawValue)|\(senderRole.rawValue)|\(clientMsgId)|\(senderKeyID)|\(recipientKeyID)".utf8)
    }

    public struct Message: Sendable, Equatable, Codable {
        public var sentAt: String
        public var text: String
        public init(text: String, sentAt: String) {
            self.text = text
            self.sentAt = sentAt
        }
    }

    public func seal(_ message: Message, clientMsgId: String, nonce: [UInt8] = XChaCha20Poly1305.randomNonce()) throws -> ChatEnvelope {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let plain = try Padding.pad(Array(try encoder.encode(message)), blockSize: ChatEnvelope.paddingBlock)
        let ad = Self.associatedData(
            consultation: consultation, senderRole: role, clientMsgId: clientMsgId, senderKeyID: ownKeyID, recipientKeyID: peerKeyID)
        let sealed = try XChaCha20Poly1305.seal(plain, additionalData: ad, nonce: nonce, key: keys.tx)
        return ChatEnvelope(
            clientMsgId: clientMsgId, senderKeyId: ownKeyID, recipientKeyId: peerKeyID, nonce: Base64URL.encode(nonce),
            ciphertext: Base64URL.encode(sealed))
    }

    /// Opens an envelope the peer sent; any change to the ciphertext, nonce
    /// or any associated-data field fails.
    public func open(_ envelope: ChatEnvelope, senderRole: ParticipantRole) throws -> Message {
        let ad = Self.associatedData(
            consultation: consultation, senderRole: senderRole, clientMsgId: envelope.clientMsgId,
            senderKeyID: envelope.senderKeyId, recipientKeyID: envelope.recipientKeyId)
        let plain = try XChaCha20Poly1305.open(
            try Base64URL.decode(envelope.ciphertext), additionalData: ad,
            nonce: try Base64URL.decode(envelope.nonce, length: XChaCha20Poly1305.nonceLength), key: keys.rx)
        let unpadded = try Padding.unpad(plain.copyBytes(), blockSize: ChatEnvelope.paddingBlock)
        return try JSONDecoder().decode(Message.self, from: Data(unpadded))
    }
}
