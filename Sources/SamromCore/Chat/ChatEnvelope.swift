import Sodium

/// A chat message as a sender hands it to the server: one sealed copy per
/// recipient key (a copy to the sender's own key lets it read its messages
/// back later). Opaque to the server, which checks only the shape.
public struct ChatEnvelope: Sendable, Equatable, Codable {
    public var clientMsgId: String
    public var senderKeyId: String
    public var copies: [ChatCopy]

    public init(clientMsgId: String, senderKeyId: String, copies: [ChatCopy]) {
        self.clientMsgId = clientMsgId
        self.senderKeyId = senderKeyId
        self.copies = copies
    }

    public static let maxClientMsgIdBytes = 64
    /// Everyone in a full call: five others and oneself.
    public static let maxCopies = 6

    public func validated() throws(SignalError) -> ChatEnvelope {
        guard !clientMsgId.isEmpty, clientMsgId.utf8.count <= Self.maxClientMsgIdBytes,
            clientMsgId.utf8.allSatisfy(Base64URL.isAlphabet)
        else { throw SignalError(.badField, "\"clientMsgId\" must be 1–64 characters of A–Z, a–z, 0–9, '-' and '_'") }
        guard DeviceKey.isWellFormedKeyID(senderKeyId) else { throw SignalError(.badField, "\"senderKeyId\" is not a key id") }
        guard (1...Self.maxCopies).contains(copies.count) else {
            throw SignalError(.badField, "\"copies\" must hold 1 to \(Self.maxCopies) copies")
        }
        guard Set(copies.map(\.recipientKeyId)).count == copies.count else {
            throw SignalError(.badField, "\"copies\" has two copies for the same key")
        }
        for copy in copies { try copy.validate() }
        return self
    }
}

/// One recipient's sealed copy of a chat message.
///
/// `ciphertext` = XChaCha20-Poly1305-IETF(sodium_pad(utf8(json{"sentAt","text"}), 128),
/// ad, nonce, tx), so its decoded length is 16 + a multiple of 128: the server
/// learns a message's size only to the nearest 128 bytes.
public struct ChatCopy: Sendable, Equatable, Codable {
    public var recipientKeyId: String
    public var nonce: String
    public var ciphertext: String

    public init(recipientKeyId: String, nonce: String, ciphertext: String) {
        self.recipientKeyId = recipientKeyId
        self.nonce = nonce
        self.ciphertext = ciphertext
    }

    public static let paddingBlock = 128
    /// The largest padded plaintext: 12 KiB (a long message; chat is not for
    /// files), so six copies still fit in one frame.
    public static let maxPaddedBytes = 12 * 1024
    public static var maxCiphertextBytes: Int { maxPaddedBytes + XChaCha20Poly1305.tagLength }

    func validate() throws(SignalError) {
        guard DeviceKey.isWellFormedKeyID(recipientKeyId) else { throw SignalError(.badField, "\"recipientKeyId\" is not a key id") }
        guard (try? Base64URL.decode(nonce, length: XChaCha20Poly1305.nonceLength)) != nil else {
            throw SignalError(.badField, "\"nonce\" must be 24 bytes of base64url")
        }
        try SealedSignal.checkSealed(ciphertext, field: "ciphertext", block: Self.paddingBlock, maxBytes: Self.maxCiphertextBytes)
    }
}
