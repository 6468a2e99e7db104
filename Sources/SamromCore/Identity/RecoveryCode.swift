import Sodium

/// A one-time recovery code: 10 random bytes (80 bits) as 16 base32
/// characters, shown once as `abcd-efgh-ijkl-mnop` and accepted in any case
/// with or without dashes. Stored only as a BLAKE2b hash bound to its
/// account (`hash(for:)`); 80 bits need no slow hash.
public struct RecoveryCode: Sendable, CustomStringConvertible {
    public static let byteCount = 10
    /// How many an enrolment gets.
    public static let batchSize = 10

    /// The 16 characters, upper case, without dashes.
    let normalised: String

    init(normalised: String) { self.normalised = normalised }

    public static func random() -> RecoveryCode { RecoveryCode(normalised: Base32.encode(Random.bytes(byteCount))) }

    public static func batch() -> [RecoveryCode] { (0..<batchSize).map { _ in random() } }

    /// What a person typed: 16 base32 characters in any case, dashes and
    /// spaces ignored; nil for anything else.
    public init?(_ text: String) {
        guard text.utf8.count <= 64 else { return nil }
        var kept: [UInt8] = []
        for byte in text.utf8 where byte != UInt8(ascii: "-") && byte != UInt8(ascii: " ") {
            kept.append((UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) ? byte - 32 : byte)
        }
        let text = String(decoding: kept, as: UTF8.self)
        guard kept.count == 16, Base32.decode(text)?.count == Self.byteCount else { return nil }
        normalised = text
    }

    /// For showing once: lower case, in four groups of four.
    public var display: String {
        let lower = Array(normalised.lowercased())
        return stride(from: 0, to: lower.count, by: 4).map { String(lower[$0..<min($0 + 4, lower.count)]) }.joined(separator: "-")
    }

    /// `BLAKE2b-256("samrom/recovery/v1|" + account + "|" + code)`: what is stored.
    public func hash(for account: AccountID) -> TokenHash {
        TokenHash(bytes: try! GenericHash.hash(Array("samrom/recovery/v1|\(account.rawValue)|\(normalised)".utf8), length: 32))
    }

    public var description: String { "RecoveryCode(redacted)" }
}

/// What a person gives at the second step: a TOTP code or a recovery code.
public enum SecondFactorCode: Sendable {
    case totp(TOTPCode)
    case recovery(RecoveryCode)

    /// Six digits, or a recovery code; nil for anything else.
    public static func parse(_ text: String) -> SecondFactorCode? {
        if let code = TOTPCode(text) { return .totp(code) }
        if let code = RecoveryCode(text) { return .recovery(code) }
        return nil
    }
}

/// The store's answer to using a recovery code.
public enum RecoveryCodeUse: Sendable, Equatable {
    /// It was unused and is now used; `remaining` unused ones are left.
    case used(remaining: Int)
    case alreadyUsed
    case unknown
}
