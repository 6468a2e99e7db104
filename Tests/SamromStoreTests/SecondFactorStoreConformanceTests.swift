import Foundation
import SamromCore
import Testing

/// `SecondFactorStore` on every store (issue 15): each "only once" holds
/// under concurrent callers, and pending logins run out.
@Suite(.postgresCluster) struct SecondFactorStoreConformanceTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func sealed() -> SealedSecret { SealedSecret(nonce: Array(repeating: 1, count: 24), ciphertext: Array(repeating: 2, count: 36)) }

    @Test(arguments: StoreKind.allCases) func enrolConfirmAndAcceptEachStepOnce(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let account = try await store.createAccount(username: "kari", role: .veileder, passwordHash: "h", at: Self.now).id
            #expect(try await store.totpEnrolment(of: account) == nil)
            let first = Self.sealed()
            let second = SealedSecret(nonce: Array(repeating: 3, count: 24), ciphertext: Array(repeating: 4, count: 36))
            #expect(try await store.beginTOTPEnrolment(account, sealedSecret: first, at: Self.now))
            // Restarted while unconfirmed: the new secret replaces the old.
            #expect(try await store.beginTOTPEnrolment(account, sealedSecret: second, at: Self.now))
            #expect(try await store.totpEnrolment(of: account)?.sealedSecret == second)
            #expect(try await store.acceptTOTPStep(10, for: account) == false, "unconfirmed")
            let codes = RecoveryCode.batch().map { $0.hash(for: account) }
            #expect(try await store.confirmTOTPEnrolment(account, sealedSecret: first, step: 5, recoveryCodes: codes, at: Self.now) == false)
            #expect(try await store.confirmTOTPEnrolment(account, sealedSecret: second, step: 5, recoveryCodes: codes, at: Self.now))
            #expect(try await store.confirmTOTPEnrolment(account, sealedSecret: second, step: 6, recoveryCodes: codes, at: Self.now) == false)
            #expect(try await store.beginTOTPEnrolment(account, sealedSecret: first, at: Self.now) == false)
            let enrolment = try #require(try await store.totpEnrolment(of: account))
            #expect(enrolment.isConfirmed && enrolment.lastStep == 5 && enrolment.sealedSecret == second)

            #expect(try await store.acceptTOTPStep(5, for: account) == false)
            #expect(try await store.acceptTOTPStep(4, for: account) == false)
            // Eight callers with one step: exactly one wins.
            let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<8 { group.addTask { try await store.acceptTOTPStep(6, for: account) } }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(wins == 1)

            // Recovery codes: each once, and only for their account.
            let other = try await store.createAccount(username: "ola", role: .veileder, passwordHash: "h", at: Self.now).id
            #expect(try await store.useRecoveryCode(codes[0], for: other, at: Self.now) == .unknown)
            let uses = try await withThrowingTaskGroup(of: RecoveryCodeUse.self) { group in
                for _ in 0..<4 { group.addTask { try await store.useRecoveryCode(codes[0], for: account, at: Self.now) } }
                return try await group.reduce(into: [RecoveryCodeUse]()) { $0.append($1) }
            }
            #expect(uses.filter { $0 == .used(remaining: 9) }.count == 1, "\(uses)")
            #expect(uses.filter { $0 == .alreadyUsed }.count == 3, "\(uses)")
            #expect(try await store.useRecoveryCode(RecoveryCode.random().hash(for: account), for: account, at: Self.now) == .unknown)

            // Removing ends everything, sessions included.
            let session = SessionToken.random().hash
            try await store.insertSession(
                LoginSession(tokenHash: session, account: account, createdAt: Self.now, lastSeenAt: Self.now, expiresAt: Self.now + 3600))
            #expect(try await store.removeSecondFactor(of: account))
            #expect(try await store.removeSecondFactor(of: account) == false)
            #expect(try await store.totpEnrolment(of: account) == nil)
            #expect(try await store.session(tokenHash: session) == nil)
            #expect(try await store.useRecoveryCode(codes[1], for: account, at: Self.now) == .unknown)
        }
    }

    @Test(arguments: StoreKind.allCases) func pendingLoginsHaveTriesAndExpire(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let account = try await store.createAccount(username: "kari", role: .veileder, passwordHash: "h", at: Self.now).id
            let policy = SecondFactorPolicy(required: false, pendingLifetime: 300, attempts: 3)
            let token = PendingLoginToken.random()
            let login = policy.pendingLogin(token.hash, account: account, purpose: .secondFactor, now: Self.now)
            try await store.insertPendingLogin(login)
            #expect(try await store.pendingLogin(tokenHash: token.hash) == login)
            #expect(try await store.pendingLogin(tokenHash: SessionToken(encoded: token.encoded).hash) == nil)
            // Five at once with three tries: three are taken.
            let attempts = try await withThrowingTaskGroup(of: PendingLoginAttempt.self) { group in
                for _ in 0..<5 { group.addTask { try await store.takePendingLoginAttempt(tokenHash: token.hash, now: Self.now) } }
                return try await group.reduce(into: [PendingLoginAttempt]()) { $0.append($1) }
            }
            let taken = attempts.filter { if case .taken = $0 { true } else { false } }
            #expect(taken.count == 3, "\(attempts)")
            #expect(try await store.takePendingLoginAttempt(tokenHash: PendingLoginToken.random().hash, now: Self.now) == .unknown)

            let other = PendingLoginToken.random()
            try await store.insertPendingLogin(policy.pendingLogin(other.hash, account: account, purpose: .enrolment, now: Self.now))
            guard case .spent = try await store.takePendingLoginAttempt(tokenHash: other.hash, now: Self.now + 300) else {
                Issue.record("an expired pending login gave a try")
                return
            }
            #expect(try await store.deleteExpiredPendingLogins(now: Self.now + 299) == 0)
            #expect(try await store.deleteExpiredPendingLogins(now: Self.now + 300) == 2)
            #expect(try await store.deletePendingLogin(tokenHash: other.hash) == false)

            // The key id: the first recorded stays.
            #expect(try await store.secondFactorKeyID(recording: nil) == nil)
            #expect(try await store.secondFactorKeyID(recording: "a") == "a")
            #expect(try await store.secondFactorKeyID(recording: "b") == "a")
        }
    }
}
