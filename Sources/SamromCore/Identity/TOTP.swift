import Foundation
import Sodium

/// RFC 6238 time-based one-time passwords as Samrom uses them: HMAC-SHA1,
/// six digits, 30-second steps, a code accepted one step either side of
/// now, and each step at most once per account. The HMAC itself is
/// swift-crypto's (`TOTPGenerator` in the server: libsodium has no
/// HMAC-SHA1); this type holds the arithmetic and the decision.
public enum TOTP {
    public static let digits = 6
    public static let period: TimeInterval = 30
    /// Steps accepted either side of the current one (clock drift, typing).
    public static let window: Int64 = 1

    /// RFC 6238 §4.2: T = floor((now − T0) / X), T0 = 0.
    public static func step(at date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 / period).rounded(.down))
    }

    /// RFC 4226 §5.1: the counter as 8 bytes, big-endian.
    public static func counter(_ step: Int64) -> [UInt8] {
        withUnsafeBytes(of: UInt64(bitPattern: step).bigEndian) { Array($0) }
    }

    /// RFC 4226 §5.3: dynamic truncation of an HMAC-SHA1 output (20 bytes)
    /// to `digits` (1–9) decimal digits, zero-padded.
    public static func truncate(_ mac: [UInt8], digits: Int = TOTP.digits) -> String {
        precondition(mac.count == 20 && (1...9).contains(digits))
        let offset = Int(mac[19] & 0x0f)
        let binary = (UInt32(mac[offset] & 0x7f) << 24) | (UInt32(mac[offset + 1]) << 16)
            | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let text = String(binary % modulus)
        return String(repeating: "0", count: digits - text.count) + text
    }

    public enum Check: Equatable, Sendable {
        /// The code is the one for `step`, later than any accepted before:
        /// accept it, and record the step so it is never accepted again.
        case accept(step: Int64)
        /// The code is right for a step already used (or an earlier one).
        case replayed
        case wrong
    }

    /// The decision: which step of the window around `now` the code is for
    /// (every step compared, in constant time), and whether it may be used
    /// after `lastStep`.
    public static func check(_ code: TOTPCode, at now: Date, after lastStep: Int64?, codeFor: (Int64) -> TOTPCode) -> Check {
        let current = step(at: now)
        var matched: Int64?
        for step in (current - window)...(current + window) {
            // Ascending: of two matches, the later step wins.
            if codeFor(step).matches(code) { matched = step }
        }
        guard let matched else { return .wrong }
        if let lastStep, matched <= lastStep { return .replayed }
        return .accept(step: matched)
    }
}

/// Six decimal digits, as a person types them from an authenticator app.
/// Compared in constant time; never shown in a description.
public struct TOTPCode: Sendable, CustomStringConvertible {
    let digits: [UInt8]

    /// Exactly six ASCII digits; spaces between them are allowed ("123 456").
    public init?(_ text: String) {
        guard text.utf8.count <= 32 else { return nil }
        let kept = text.utf8.filter { $0 != UInt8(ascii: " ") }
        guard kept.count == TOTP.digits, kept.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        digits = Array(kept)
    }

    /// A code the server computed.
    public init(generated: String) { digits = Array(generated.utf8) }

    public func matches(_ other: TOTPCode) -> Bool { ConstantTime.equals(digits, other.digits) }

    public var description: String { "TOTPCode(redacted)" }
}
