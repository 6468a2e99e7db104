import Foundation
import Sodium

/// Short-lived facts kept in the browser rather than on the server (an
/// OpenID Connect login on its way, an ID-porten verification before a
/// knock), sealed with XChaCha20-Poly1305 under a key derived from the
/// instance's `second-factor.key` (shared by instances on one store), so
/// a browser can neither read nor forge them and any instance can read
/// them back. Each kind has its own key, so one cannot pass for another.
public struct CookieSealer: Sendable {
    public enum Kind: String, Sendable {
        case openIDAttempt = "oidc-attempt"
        case idPortenVerification = "idporten-verification"
    }

    let key: SecureBytes
    let additionalData: [UInt8]

    public init(_ kind: Kind, deriving base: SecondFactorKey) {
        key = base.derivedKey(label: "samrom/cookie/\(kind.rawValue)/v1")
        additionalData = Array("samrom/cookie/\(kind.rawValue)/v1".utf8)
    }

    public func seal(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        let nonce = XChaCha20Poly1305.randomNonce()
        let sealed = try XChaCha20Poly1305.seal(Array(try encoder.encode(value)), additionalData: additionalData, nonce: nonce, key: key)
        return Base64URL.encode(nonce + sealed)
    }

    /// Nil for anything this kind of sealer did not seal, or changed.
    public func open<T: Decodable>(_ text: String, as type: T.Type) -> T? {
        guard text.utf8.count <= 1024, let bytes = try? Base64URL.decode(text),
            bytes.count > XChaCha20Poly1305.nonceLength + XChaCha20Poly1305.tagLength,
            let plain = try? XChaCha20Poly1305.open(
                Array(bytes[XChaCha20Poly1305.nonceLength...]), additionalData: additionalData,
                nonce: Array(bytes[..<XChaCha20Poly1305.nonceLength]), key: key)
        else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return try? decoder.decode(T.self, from: plain.withUnsafeBytes { Data($0) })
    }
}
