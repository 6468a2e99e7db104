import Crypto
import Foundation
import SamromCore
import Sodium
import Testing

/// The second factor's value types (issue 15, step 1): RFC 6238 arithmetic,
/// the one-step window and replay rule, base32, recovery codes, the sealed
/// secret and what a pending login may do.
struct SecondFactorTests {
    /// HMAC-SHA1 as the server computes it (swift-crypto; libsodium has none).
    static func code(_ secret: [UInt8], step: Int64, digits: Int = TOTP.digits) -> String {
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: TOTP.counter(step), using: SymmetricKey(data: secret))
        return TOTP.truncate(Array(mac), digits: digits)
    }

    /// RFC 6238 Appendix B, the SHA-1 rows (8 digits there; the last 6 are ours).
    @Test func rfc6238TestVectors() {
        let secret = Array("12345678901234567890".utf8)
        let vectors: [(TimeInterval, String)] = [
            (59, "94287082"), (1_111_111_109, "07081804"), (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"), (2_000_000_000, "69279037"), (20_000_000_000, "65353130"),
        ]
        for (time, expected) in vectors {
            let step = TOTP.step(at: Date(timeIntervalSince1970: time))
            #expect(Self.code(secret, step: step, digits: 8) == expected, "T = \(time)")
            #expect(Self.code(secret, step: step) == String(expected.suffix(6)), "T = \(time)")
        }
    }

    @Test func aCodeIsAcceptedOneStepEitherSideAndEachStepOnlyOnce() throws {
        let secret = Array("12345678901234567890".utf8)
        let now = Date(timeIntervalSince1970: 1_234_567_890)
        let current = TOTP.step(at: now)
        func check(_ step: Int64, after last: Int64? = nil) -> TOTP.Check {
            let typed = TOTPCode(Self.code(secret, step: step))!
            return TOTP.check(typed, at: now, after: last) { TOTPCode(generated: Self.code(secret, step: $0)) }
        }
        #expect(check(current) == .accept(step: current))
        #expect(check(current - 1) == .accept(step: current - 1))
        #expect(check(current + 1) == .accept(step: current + 1))
        #expect(check(current - 2) == .wrong)
        #expect(check(current + 2) == .wrong)
        // Replays: the same step, or one before the last accepted.
        #expect(check(current, after: current) == .replayed)
        #expect(check(current - 1, after: current) == .replayed)
        #expect(check(current + 1, after: current) == .accept(step: current + 1))
        let other = TOTPCode(Self.code(Array("another secret, 20 b".utf8), step: current))!
        let mine = Self.code(secret, step: current)
        if !other.matches(TOTPCode(generated: mine)) {
            #expect(TOTP.check(other, at: now, after: nil) { TOTPCode(generated: Self.code(secret, step: $0)) } == .wrong)
        }
    }

    @Test func codesAreSixDigitsAndNothingElse() {
        #expect(TOTPCode("123456") != nil)
        #expect(TOTPCode("123 456") != nil)
        for bad in ["", "12345", "1234567", "12345a", "１２３４５６", "123456\n", String(repeating: " ", count: 40) + "123456", "-12345"] {
            #expect(TOTPCode(bad) == nil, "\(bad.debugDescription)")
        }
        #expect(!"\(TOTPCode("123456")!)".contains("123456"))
    }

    /// RFC 4648 §10.
    @Test func base32IsRFC4648WithoutPadding() {
        let vectors = ["": "", "f": "MY", "fo": "MZXQ", "foo": "MZXW6", "foob": "MZXW6YQ", "fooba": "MZXW6YTB", "foobar": "MZXW6YTBOI"]
        for (plain, encoded) in vectors {
            #expect(Base32.encode(Array(plain.utf8)) == encoded)
            #expect(Base32.decode(encoded) == Array(plain.utf8))
            #expect(Base32.decode(encoded.lowercased()) == Array(plain.utf8))
        }
        for bad in ["M", "MZX", "MY======", "MZ1W", "MZXW6YTBOJ"] { #expect(Base32.decode(bad) == nil, "\(bad)") }
        let secret = TOTPSecret.random()
        #expect(secret.base32.count == 32)
        #expect(Base32.decode(secret.base32)?.count == TOTPSecret.byteCount)
    }

    @Test func theOtpauthURLIsWhatAuthenticatorAppsRead() throws {
        let secret = try TOTPSecret(SecureBytes(Array("12345678901234567890".utf8)))
        let url = secret.otpauthURL(issuer: "Samrom Frisklivssentral", username: "kari.nordmann")
        #expect(url == "otpauth://totp/Samrom%20Frisklivssentral:kari.nordmann?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
            + "&issuer=Samrom%20Frisklivssentral&algorithm=SHA1&digits=6&period=30")
        #expect(TOTPSecret.isValidIssuer("Samrom"))
        #expect(!TOTPSecret.isValidIssuer("Sam:rom") && !TOTPSecret.isValidIssuer("") && !TOTPSecret.isValidIssuer("a\u{7}"))
        #expect(throws: SodiumError.self) { try TOTPSecret(SecureBytes(Array("short".utf8))) }
    }

    @Test func recoveryCodesAreTypedLooselyAndHashedPerAccount() throws {
        let batch = RecoveryCode.batch()
        #expect(batch.count == 10 && Set(batch.map(\.display)).count == 10)
        let code = batch[0]
        #expect(code.display.count == 19 && code.display.split(separator: "-").count == 4)
        let typed = try #require(RecoveryCode(code.display.uppercased().replacingOccurrences(of: "-", with: " ")))
        let (one, two) = (AccountID(rawValue: 1), AccountID(rawValue: 2))
        #expect(typed.hash(for: one) == code.hash(for: one))
        #expect(code.hash(for: one) != code.hash(for: two))
        #expect(code.hash(for: one) != batch[1].hash(for: one))
        for bad in ["", "abcd-efgh-ijkl-mno", "abcd-efgh-ijkl-mnop-q", "abcd-efgh-ijkl-mn0p", String(repeating: "a", count: 80)] {
            #expect(RecoveryCode(bad) == nil, "\(bad)")
        }
        #expect(!"\(code)".contains(code.display))
        guard case .totp? = SecondFactorCode.parse("123456") else { Issue.record("six digits are a TOTP code"); return }
        guard case .recovery? = SecondFactorCode.parse(code.display) else { Issue.record("a recovery code"); return }
        #expect(SecondFactorCode.parse("12345") == nil)
    }

    @Test func aSealedSecretOpensOnlyWithItsKeyForItsAccount() throws {
        let key = SecondFactorKey.generate(), other = SecondFactorKey.generate()
        let secret = TOTPSecret.random()
        let (one, two) = (AccountID(rawValue: 1), AccountID(rawValue: 2))
        let sealed = try key.seal(secret, for: one)
        let opened = try key.open(sealed, for: one)
        #expect(opened.base32 == secret.base32)
        #expect(throws: (any Error).self) { try key.open(sealed, for: two) }
        #expect(throws: (any Error).self) { try other.open(sealed, for: one) }
        // The secret's bytes are nowhere in what is stored.
        let stored = sealed.nonce + sealed.ciphertext
        let plain = secret.withUnsafeBytes { Array($0) }
        #expect(!stored.indices.contains { stored[$0...].starts(with: plain) })
        let again = try SecondFactorKey(SecureBytes(key.withUnsafeBytes { Array($0) }))
        #expect(key.id != other.id && key.id == again.id)
    }

    @Test func aPendingLoginMayOnlyTakeTheStepItWasMadeFor() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        func pending(_ purpose: PendingLogin.Purpose, attempts: Int = 5) -> PendingLogin {
            PendingLogin(
                tokenHash: PendingLoginToken.random().hash, account: AccountID(rawValue: 7), purpose: purpose, createdAt: now,
                expiresAt: now.addingTimeInterval(300), attemptsLeft: attempts)
        }
        let second = pending(.secondFactor), enrol = pending(.enrolment)
        #expect(second.permits(.secondFactor) && !second.permits(.startEnrolment) && !second.permits(.confirmEnrolment))
        #expect(!enrol.permits(.secondFactor) && enrol.permits(.startEnrolment) && enrol.permits(.confirmEnrolment))
        #expect(second.isLive(at: now) && !second.isLive(at: now.addingTimeInterval(300)))
        #expect(!pending(.secondFactor, attempts: 0).isLive(at: now))
        let policy = SecondFactorPolicy(required: true)
        #expect(policy.afterPassword(enrolled: true) == .pending(.secondFactor))
        #expect(policy.afterPassword(enrolled: false) == .pending(.enrolment))
        #expect(SecondFactorPolicy(required: false).afterPassword(enrolled: false) == .session)
    }
}
