import Foundation
import Sodium

/// A device's X25519 public key for one consultation (`crypto_kx`) and its key
/// id, as they travel: base64url without padding. The server checks only
/// their shape; it never holds a secret key.
public enum DeviceKey {
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
}
