import Foundation
import Testing
@testable import SamromCore

@Suite struct SecurityTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func tokenBucketAllowsBurstThenRate() {
        var bucket = TokenBucket(ratePerSecond: 10, burst: 5, now: t0)
        for _ in 0..<5 { do { let ok = bucket.take(now: t0); #expect(ok) } }
        do { let ok = bucket.take(now: t0); #expect(!ok) }
        do { let ok = bucket.take(now: t0.addingTimeInterval(0.1)); #expect(ok) }
        do { let ok = bucket.take(now: t0.addingTimeInterval(0.1)); #expect(!ok) }
        // Refill never exceeds the burst.
        let later = t0.addingTimeInterval(100)
        for _ in 0..<5 { do { let ok = bucket.take(now: later); #expect(ok) } }
        do { let ok = bucket.take(now: later); #expect(!ok) }
    }

    @Test func loginThrottleSlowsPerAccountAndAddress() {
        var throttle = LoginThrottle(policy: .init(freeFailures: 3, baseDelay: 1, maxDelay: 60, memory: 3600))
        let keys: [LoginThrottle.Key] = [.account("kari"), .address("10.0.0.1")]
        for i in 0..<3 {
            #expect(throttle.retryAfter(keys, now: t0) == nil)
            throttle.recordFailure(keys, now: t0.addingTimeInterval(Double(i)))
        }
        let wait = throttle.retryAfter(keys, now: t0.addingTimeInterval(2))
        #expect(wait != nil && wait! > 0 && wait! <= 1)
        // Another address guessing the same account is slowed too.
        #expect(throttle.retryAfter([.account("kari"), .address("10.0.0.2")], now: t0.addingTimeInterval(2)) != nil)
        // Doubling, capped.
        for i in 0..<20 { throttle.recordFailure(keys, now: t0.addingTimeInterval(10 + Double(i))) }
        #expect(throttle.retryAfter(keys, now: t0.addingTimeInterval(30))! <= 60)
        // Forgotten after the memory period.
        #expect(throttle.retryAfter(keys, now: t0.addingTimeInterval(4000)) == nil)
        throttle.succeeded([.account("kari")])
        #expect(throttle.retryAfter([.account("kari")], now: t0.addingTimeInterval(31)) == nil)
    }

    /// Issue 13, 2: attempts in flight count before the password is checked,
    /// so parallel attempts cannot all pass; a success takes its own back.
    @Test func admittedAttemptsCountBeforeTheirOutcomeIsKnown() {
        var throttle = LoginThrottle(policy: .init(freeFailures: 5, baseDelay: 1, maxDelay: 60, memory: 3600))
        let keys: [LoginThrottle.Key] = [.account("kari"), .address("10.0.0.1")]
        // 40 at once, none finished yet: five get in.
        let admitted = (0..<40).filter { _ in throttle.admit(keys, now: t0) == nil }.count
        #expect(admitted == 5)
        // A success clears the account, and takes back only its own attempt at the address.
        var fresh = LoginThrottle(policy: .init(freeFailures: 2, baseDelay: 1, maxDelay: 60, memory: 3600))
        let address: [LoginThrottle.Key] = [.address("10.0.0.2")]
        #expect(fresh.admit(address + [.account("a")], now: t0) == nil)
        #expect(fresh.admit(address + [.account("b")], now: t0) == nil)
        fresh.succeeded(address + [.account("b")])
        #expect(fresh.admit(address + [.account("c")], now: t0) == nil)
        #expect(fresh.admit(address + [.account("d")], now: t0) != nil)
        // An attempt never checked (the server was busy) counts for nothing.
        var busy = LoginThrottle(policy: .init(freeFailures: 1, baseDelay: 1, maxDelay: 60, memory: 3600))
        let keys2: [LoginThrottle.Key] = [.account("e"), .address("10.0.0.3")]
        #expect(busy.admit(keys2, now: t0) == nil)
        busy.withdraw(keys2)
        #expect(busy.admit(keys2, now: t0) == nil)
        #expect(busy.admit(keys2, now: t0) != nil)
    }

    @Test func tokensParseStrictlyAndHashByKind() {
        let token = JoinToken.random()
        #expect(token.encoded.count == 43)
        #expect(JoinToken.parse(token.encoded) == token)
        #expect(JoinToken.parse("x") == nil)
        #expect(JoinToken.parse(String(repeating: "=", count: 43)) == nil)
        #expect(!"\(token)".contains(token.encoded))
        // The same secret hashes differently as a join and as a resume token.
        #expect(!token.hash.matches(ResumeToken(encoded: token.encoded).hash))
        #expect(token.hash.matches(JoinToken(encoded: token.encoded).hash))
    }

    @Test func usernamesAreNormalised() {
        #expect(Account.normalisedUsername("Kari.Nordmann") == "kari.nordmann")
        #expect(Account.normalisedUsername("") == nil)
        #expect(Account.normalisedUsername("kari nordmann") == nil)
        #expect(Account.normalisedUsername("ø") == nil)
        #expect(Account.normalisedUsername(String(repeating: "a", count: 65)) == nil)
    }

    @Test func consultationStatus() {
        let c = Consultation(
            id: .random(), owner: AccountID(rawValue: 1), title: nil, createdAt: t0, expiresAt: t0.addingTimeInterval(10))
        #expect(c.status(at: t0) == .active)
        #expect(c.status(at: t0.addingTimeInterval(10)) == .expired)
        var ended = c
        ended.endedAt = t0
        #expect(ended.status(at: t0) == .ended)
    }

    @Test func auditEntryCanonicalBytes() throws {
        let event = AuditEvent(
            at: Date(timeIntervalSince1970: 1_800_000_000.1234), actor: .init(kind: .user, id: "1", role: "veileder"),
            action: .login, consultation: nil, outcome: .allowed, reason: "password login", clientIP: "127.0.0.1")
        let entry = AuditEntry(seq: 7, event: event)
        let text = String(decoding: entry.canonicalBytes(), as: UTF8.self)
        #expect(text == #"{"action":"login","actor":{"id":"1","kind":"user","role":"veileder"},"at":"2027-01-15T08:00:00.123Z","client":{"ip":"127.0.0.1"},"consultation":null,"outcome":"allowed","reason":"password login","seq":7}"#)
        let back = try AuditEntry.decode(canonical: entry.canonicalBytes())
        #expect(back.seq == 7 && back.event.action == .login && back.event.clientIP == "127.0.0.1")
        #expect(back.canonicalBytes() == entry.canonicalBytes())
    }

    @Test func serverMessagesEncodeWithTheirType() {
        #expect(ServerMessage.pong.encoded() == #"{"type":"pong"}"#)
        #expect(ServerMessage.error(SignalError(.badJSON, "x")).encoded() == #"{"code":"bad-json","message":"x","type":"error"}"#)
        #expect(ServerMessage.knock(Member(participant: ParticipantID(rawValue: "p-1"), role: .tolk)).encoded() == #"{"participant":"p-1","role":"tolk","type":"knock"}"#)
        // A roster says null for a key not yet announced.
        let roster = ServerMessage.roster([.init(member: Member(participant: ParticipantID(rawValue: "p-1"), role: .veileder), keyId: nil)])
        #expect(roster.encoded() == #"{"participants":[{"keyId":null,"participant":"p-1","role":"veileder"}],"type":"roster"}"#)
    }
}
