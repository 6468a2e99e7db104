import Foundation
import SamromCore
import Sodium

extension FuzzHarness {
    /// `SealedSignal.validated()` and `ChatEnvelope.validated()`, fed fields
    /// directly. The input is a mode byte, then fields separated by newlines:
    /// bit 0 of the mode picks a chat envelope (clientMsgId, senderKeyId, then
    /// recipientKeyId, nonce, ciphertext per copy) over a signal (senderKeyId,
    /// recipientKeyId, nonce, box); bits 1 to 7 put a well-formed value in
    /// place of field 0 to 6, so one field at a time can be explored.
    /// Checked: whatever a strict base64url decoder finds well formed is
    /// accepted, whatever is accepted has the promised decoded lengths, and
    /// the frame decoder accepts exactly what the validation accepts.
    public static let sealed = FuzzHarness(name: "sealed", maxLength: 16384) { (bytes) throws(InvariantViolation) in
        guard let mode = bytes.first else { return }
        var fields = bytes.dropFirst().split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
        if mode & 1 == 0 {
            try checkSignal(fields: fields, mode: mode)
        } else {
            // At most 8 copies: enough to pass the limit of 6.
            let copyCount = min(8, max(0, fields.count - 2) / 3)
            fields += Array(repeating: "", count: max(0, 2 + 3 * copyCount - fields.count))
            try checkChat(fields: fields, copyCount: copyCount, mode: mode)
        }
    }

    static let wellFormedKeyID = Base64URL.encode([UInt8](repeating: 1, count: 16))
    static let wellFormedOtherKeyID = Base64URL.encode([UInt8](repeating: 2, count: 16))
    static let wellFormedNonce = Base64URL.encode([UInt8](repeating: 7, count: 24))
    static let wellFormedBox = Base64URL.encode([UInt8](repeating: 9, count: 16 + SealedSignal.paddingBlock))
    static let wellFormedCiphertext = Base64URL.encode([UInt8](repeating: 9, count: 16 + ChatCopy.paddingBlock))

    private static func field(_ fields: [String], _ index: Int, mode: UInt8, default value: String) -> String {
        if index < 7, mode & (2 << index) != 0 { return value }
        return index < fields.count ? fields[index] : ""
    }

    private static func checkSignal(fields: [String], mode: UInt8) throws(InvariantViolation) {
        let signal = SealedSignal(
            senderKeyId: field(fields, 0, mode: mode, default: wellFormedKeyID),
            recipientKeyId: field(fields, 1, mode: mode, default: wellFormedOtherKeyID),
            nonce: field(fields, 2, mode: mode, default: wellFormedNonce),
            box: field(fields, 3, mode: mode, default: wellFormedBox))
        let accepted = (try? signal.validated()) != nil
        let strictlyWellFormed =
            isKeyID(signal.senderKeyId) && isKeyID(signal.recipientKeyId) && isNonce(signal.nonce)
            && isSealed(signal.box, block: SealedSignal.paddingBlock, maxBytes: SealedSignal.maxBoxBytes)
        try require(!strictlyWellFormed || accepted, "a well-formed signal is refused: \(signal)")
        if accepted {
            try require(
                isKeyID(signal.senderKeyId) && isKeyID(signal.recipientKeyId) && isNonce(signal.nonce)
                    && hasSealedLength(signal.box, block: SealedSignal.paddingBlock, maxBytes: SealedSignal.maxBoxBytes),
                "an accepted signal has a malformed field: \(signal)")
        }
        var frame = WireFrame(.signal(to: ParticipantID(rawValue: "p-1"), signal))
        frame.to = "p-1"
        let viaFrame = try? ClientMessage.decode(try frame.encoded())
        try require((viaFrame != nil) == accepted, "the frame decoder and SealedSignal.validated() disagree on \(signal)")
        if let viaFrame {
            try require(viaFrame == .signal(to: ParticipantID(rawValue: "p-1"), signal), "the frame decoder changed \(signal)")
        }
    }

    private static func checkChat(fields: [String], copyCount: Int, mode: UInt8) throws(InvariantViolation) {
        let copies = (0..<copyCount).map { i in
            ChatCopy(
                recipientKeyId: field(fields, 2 + 3 * i, mode: mode, default: i == 0 ? wellFormedKeyID : wellFormedOtherKeyID),
                nonce: field(fields, 3 + 3 * i, mode: mode, default: wellFormedNonce),
                ciphertext: field(fields, 4 + 3 * i, mode: mode, default: wellFormedCiphertext))
        }
        let envelope = ChatEnvelope(
            clientMsgId: field(fields, 0, mode: mode, default: "m-1"),
            senderKeyId: field(fields, 1, mode: mode, default: wellFormedKeyID),
            copies: copies)
        let accepted = (try? envelope.validated()) != nil
        let id = envelope.clientMsgId.utf8
        let shapeOK =
            !id.isEmpty && id.count <= ChatEnvelope.maxClientMsgIdBytes && id.allSatisfy(Base64URL.isAlphabet)
            && isKeyID(envelope.senderKeyId) && (1...ChatEnvelope.maxCopies).contains(copies.count)
            && Set(copies.map(\.recipientKeyId)).count == copies.count
        let strictlyWellFormed =
            shapeOK
            && copies.allSatisfy {
                isKeyID($0.recipientKeyId) && isNonce($0.nonce)
                    && isSealed($0.ciphertext, block: ChatCopy.paddingBlock, maxBytes: ChatCopy.maxCiphertextBytes)
            }
        try require(!strictlyWellFormed || accepted, "a well-formed chat envelope is refused: \(envelope)")
        if accepted {
            try require(
                shapeOK
                    && copies.allSatisfy {
                        isKeyID($0.recipientKeyId) && isNonce($0.nonce)
                            && hasSealedLength($0.ciphertext, block: ChatCopy.paddingBlock, maxBytes: ChatCopy.maxCiphertextBytes)
                    },
                "an accepted chat envelope has a malformed field: \(envelope)")
        }
        let viaFrame = try? ClientMessage.decode(try WireFrame(.chat(envelope)).encoded())
        try require((viaFrame != nil) == accepted, "the frame decoder and ChatEnvelope.validated() disagree on \(envelope)")
        if let viaFrame {
            try require(viaFrame == .chat(envelope), "the frame decoder changed \(envelope)")
        }
    }

    // The reference checks, written apart from the code under test: a strict
    // decoder (the URL-safe alphabet only, then libsodium's, which refuses
    // stray trailing bits) and the sizes.

    static func strictlyDecoded(_ text: String) -> [UInt8]? {
        guard text.utf8.allSatisfy(Base64URL.isAlphabet) else { return nil }
        return try? Base64URL.decode(text)
    }

    private static func isKeyID(_ text: String) -> Bool {
        strictlyDecoded(text)?.count == 16
    }

    private static func isNonce(_ text: String) -> Bool {
        strictlyDecoded(text)?.count == XChaCha20Poly1305.nonceLength
    }

    private static func isSealedLength(_ bytes: Int, block: Int, maxBytes: Int) -> Bool {
        let body = bytes - XChaCha20Poly1305.tagLength
        return bytes <= maxBytes && body >= block && body % block == 0
    }

    /// Strictly decodable, with a sealed and padded length.
    private static func isSealed(_ text: String, block: Int, maxBytes: Int) -> Bool {
        guard let bytes = strictlyDecoded(text) else { return false }
        return isSealedLength(bytes.count, block: block, maxBytes: maxBytes)
    }

    /// What the validation promises without decoding: URL-safe alphabet
    /// only, a length unpadded base64 can have, and a sealed length.
    private static func hasSealedLength(_ text: String, block: Int, maxBytes: Int) -> Bool {
        let characters = Array(text.utf8)
        guard characters.allSatisfy(Base64URL.isAlphabet), characters.count % 4 != 1 else { return false }
        return isSealedLength(characters.count * 6 / 8, block: block, maxBytes: maxBytes)
    }
}
