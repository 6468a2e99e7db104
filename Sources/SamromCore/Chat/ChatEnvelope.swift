import Sodium

/// A chat message as it travels and is stored: opaque to the server, which
/// checks only its shape. Fields are base64url without padding.
///
/// `ciphertext` = XChaCha20-Poly1305-IETF(sodium_pad(utf8(json{"sentAt","text"}), 128),
/// ad, nonce, tx), so its decoded length is 16 + a multiple of 128: the server
/// learns a message's size only to the nearest 128 bytes.
public struct ChatEnvelope: Sendable, Equatable, Codable {
    public var clientMsgId: String
    public var senderKeyId: String
    public var recipientKeyId: String
    public var nonce: String
    public var ciphertext: String

    public init(clientMsgId: String, senderKeyId: String, recipientKeyId: String, nonce: String, ciphertext: String) {
        self.clientMsgId = clientMsgId
        self.senderKeyId = senderKeyId
        self.recipientKeyId = recipientKeyId
        self.nonce = nonce
        self.ciphertext = ciphertext
    }

    public static let paddingBlock = 128
    /// The largest padded plaintext: 16 KiB (a long message; chat is not for files).
    public static let maxPaddedBytes = 16 * 1024
    public static var maxCiphertextBytes: Int { maxPaddedBytes + XChaCha20Poly1305.tagLength }
    public static let maxClientMsgIdBytes = 64

    /// Checks sizes and encodings; never decrypts (the server cannot).
    public func validated() throws(SignalError) -> ChatEnvelope {
        guard !clientMsgId.isEmpty, clientMsgId.utf8.count <= Self.maxClientMsgIdBytes,
            clientMsgId.utf8.allSatisfy(Base64URL.isAlphabet)
        else { throw SignalError(.badField, "\"clientMsgId\" must be 1–64 characters of A–Z, a–z, 0–9, '-' and '_'") }
        guard ChatKey.isWellFormedKeyID(senderKeyId) else { throw SignalError(.badField, "\"senderKeyId\" is not a key id") }
        guard ChatKey.isWellFormedKeyID(recipientKeyId) else { throw SignalError(.badField, "\"recipientKeyId\" is not a key id") }
        guard (try? Base64URL.decode(nonce, length: XChaCha20Poly1305.nonceLength)) != nil else {
            throw SignalError(.badField, "\"nonce\" must be 24 bytes of base64url")
        }
        // Cheap size check before decoding: 4 characters carry 3 bytes.
        guard ciphertext.utf8.count <= (Self.maxCiphertextBytes * 4 + 2) / 3 else {
            throw SignalError(.tooLarge, "the message is too long")
        }
        guard let bytes = try? Base64URL.decode(ciphertext) else {
            throw SignalError(.badField, "\"ciphertext\" is not base64url")
        }
        let body = bytes.count - XChaCha20Poly1305.tagLength
        guard body >= Self.paddingBlock, body % Self.paddingBlock == 0 else {
            throw SignalError(.badField, "\"ciphertext\" must be a padded message: 16 + a multiple of 128 bytes")
        }
        return self
    }
}
