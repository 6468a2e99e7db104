import Crypto
import Foundation
import SamromCore

/// The HMAC-SHA1 under RFC 6238 codes (RFC 4226 §5.3), from swift-crypto:
/// libsodium has no HMAC-SHA1, and SamromCore (which the fuzzers build)
/// stays free of swift-crypto. `TOTP` holds the arithmetic and the decision.
enum TOTPGenerator {
    static func code(_ secret: TOTPSecret, step: Int64) -> TOTPCode {
        TOTPCode(generated: digits(secret, step: step))
    }

    /// The six digits an authenticator app shows for `step`.
    static func digits(_ secret: TOTPSecret, step: Int64) -> String {
        let mac = secret.withUnsafeBytes { bytes in
            HMAC<Insecure.SHA1>.authenticationCode(for: TOTP.counter(step), using: SymmetricKey(data: bytes))
        }
        return TOTP.truncate(Array(mac))
    }

    /// Which step of the window around `now` the code is for, and whether
    /// it may be used after `lastStep`.
    static func check(_ code: TOTPCode, secret: TOTPSecret, at now: Date, after lastStep: Int64?) -> TOTP.Check {
        TOTP.check(code, at: now, after: lastStep) { self.code(secret, step: $0) }
    }
}
