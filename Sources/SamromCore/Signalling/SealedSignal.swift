import Sodium

/// A `signal`: call set-up (offer, answer, ICE, camera state, display name,
/// call-code commit and reveal) sealed end to end for one participant. The
/// server checks only its shape and who may send it to whom; it cannot open
/// the box. Fields are base64url without padding.
///
/// `box` = XChaCha20-Poly1305-IETF(sodium_pad(utf8(json), 256), ad, nonce, tx),
/// so its decoded length is 16 + a multiple of 256, at most 48 KiB.
public struct SealedSignal: Sendable, Equatable, Codable {
    public var senderKeyId: String
    public var recipientKeyId: String
    public var nonce: String
    public var box: String

    public init(senderKeyId: String, recipientKeyId: String, nonce: String, box: String) {
        self.senderKeyId = senderKeyId
        self.recipientKeyId = recipientKeyId
        self.nonce = nonce
        self.box = box
    }

    public static let paddingBlock = 256
    /// An offer with screen sharing is 6–12 KB of SDP; 48 KiB leaves room.
    public static let maxBoxBytes = 48 * 1024

    /// Checks sizes and encodings without decoding the box (the server
    /// cannot open it, and need not copy it).
    public func validated() throws(SignalError) -> SealedSignal {
        guard DeviceKey.isWellFormedKeyID(senderKeyId) else { throw SignalError(.badField, "\"senderKeyId\" is not a key id") }
        guard DeviceKey.isWellFormedKeyID(recipientKeyId) else { throw SignalError(.badField, "\"recipientKeyId\" is not a key id") }
        guard (try? Base64URL.decode(nonce, length: XChaCha20Poly1305.nonceLength)) != nil else {
            throw SignalError(.badField, "\"nonce\" must be 24 bytes of base64url")
        }
        try Self.checkSealed(box, field: "box", block: Self.paddingBlock, maxBytes: Self.maxBoxBytes)
        return self
    }

    /// A base64url AEAD output of a padded plaintext: 16 + a multiple of
    /// `block` bytes, at most `maxBytes` (tag included), checked from the
    /// text's length and alphabet alone.
    static func checkSealed(_ text: String, field: String, block: Int, maxBytes: Int) throws(SignalError) {
        let characters = text.utf8.count
        guard characters <= (maxBytes * 4 + 2) / 3 else { throw SignalError(.tooLarge, "\"\(field)\" is too large") }
        // Unpadded base64 never leaves one character over.
        guard characters % 4 != 1, Base64URL.isAlphabet(text) else {
            throw SignalError(.badField, "\"\(field)\" is not base64url")
        }
        let bytes = characters * 3 / 4
        let body = bytes - XChaCha20Poly1305.tagLength
        guard body >= block, body % block == 0 else {
            throw SignalError(.badField, "\"\(field)\" must be sealed and padded: 16 + a multiple of \(block) bytes")
        }
    }
}
