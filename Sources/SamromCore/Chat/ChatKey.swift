import Foundation
import Sodium

/// A device's chat public key for one consultation (X25519, `crypto_kx`),
/// its key id, and the safety code two people compare aloud.
public enum ChatKey {
    /// `keyId` = base64url(crypto_generichash(16 bytes, publicKey)).
    public static func keyID(_ publicKey: KeyExchange.PublicKey) -> String {
        Base64URL.encode(try! GenericHash.hash(publicKey.bytes, length: 16))
    }

    public static func isWellFormedKeyID(_ text: String) -> Bool {
        text.utf8.count == 22 && (try? Base64URL.decode(text, length: 16)) != nil
    }

    /// Parses a base64url public key.
    public static func publicKey(_ text: String) throws(SignalError) -> KeyExchange.PublicKey {
        guard text.utf8.count == 43, let bytes = try? Base64URL.decode(text, length: KeyExchange.publicKeyLength),
            let key = try? KeyExchange.PublicKey(bytes)
        else { throw SignalError(.badField, "\"publicKey\" must be 32 bytes of base64url") }
        return key
    }

    /// The first 8 bytes, big-endian, of crypto_generichash(32, "samrom/safety/v1"
    /// ‖ lower ‖ higher) (the two keys sorted as byte strings), modulo 10^12,
    /// as three groups of four digits: "0123 4567 8901".
    public static func safetyCode(_ a: KeyExchange.PublicKey, _ b: KeyExchange.PublicKey) -> String {
        let (lower, higher) = a.bytes.lexicographicallyPrecedes(b.bytes) ? (a, b) : (b, a)
        let digest = try! GenericHash.hash(Array("samrom/safety/v1".utf8) + lower.bytes + higher.bytes, length: 32)
        let number = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) } % 1_000_000_000_000
        let digits = String(format: "%012llu", number)
        let chars = Array(digits)
        return [String(chars[0..<4]), String(chars[4..<8]), String(chars[8..<12])].joined(separator: " ")
    }
}
