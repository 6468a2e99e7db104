import Foundation
import Sodium

/// A TOTP shared secret: 20 random bytes (RFC 4226's length for
/// HMAC-SHA1) in memory that is wiped when released. Given to the person
/// once, as base32 and in an otpauth URL; stored only sealed
/// (`SecondFactorKey`).
public struct TOTPSecret: Sendable {
    public static let byteCount = 20
    public let bytes: SecureBytes

    public init(_ bytes: SecureBytes) throws {
        guard bytes.count == Self.byteCount else {
            throw SodiumError(.invalidLength, "a TOTP secret is \(Self.byteCount) bytes")
        }
        self.bytes = bytes
    }

    public static func random() -> TOTPSecret { try! TOTPSecret(.random(count: byteCount)) }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes(body)
    }

    /// Base32 without padding (32 characters).
    public var base32: String { bytes.withUnsafeBytes { Base32.encode($0) } }

    /// The key URI authenticator apps read (Google Authenticator's format):
    /// `otpauth://totp/ISSUER:USERNAME?secret=…&issuer=ISSUER&algorithm=SHA1&digits=6&period=30`.
    public func otpauthURL(issuer: String, username: String) -> String {
        let issuer = Self.escaped(issuer), username = Self.escaped(username)
        return "otpauth://totp/\(issuer):\(username)?secret=\(base32)&issuer=\(issuer)&algorithm=SHA1&digits=\(TOTP.digits)&period=\(Int(TOTP.period))"
    }

    static func escaped(_ text: String) -> String {
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }

    /// An issuer name for the URL: 1–64 characters, no ':' (the label's
    /// separator) and no control characters.
    public static func isValidIssuer(_ text: String) -> Bool {
        (1...64).contains(text.count) && !text.contains(":")
            && !text.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
}
