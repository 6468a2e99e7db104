import Crypto
import Foundation
import NIOHTTP1
import ReferenceMerkle
import SamromCore
import SamromServer
import SamromStore
import SamromTestSupport
import Testing

/// The audit log over HTTP, as a personvernombud and an outside verifier use
/// it: every check of proofs and signatures here is done with independent code
/// (ReferenceMerkle and swift-crypto), never with the server's own.
@Suite struct AuditLogTests {
    static func officer(_ server: LiveServer) async throws -> HTTPTestClient {
        try await server.addUser("pvo", role: .privacyOfficer)
        let http = HTTPTestClient(server)
        #expect(try await http.login("pvo").status == 204)
        return http
    }

    static func entries(_ reply: HTTPTestClient.Reply) -> [[String: JSONValue]] {
        guard case .array(let items)? = reply.json["entries"] else { return [] }
        return items.compactMap { if case .object(let object) = $0 { object } else { nil } }
    }

    @Test func aScriptedConsultationLeavesTheExpectedTrail() async throws {
        try await withServer { server in
            let s = try await SignallingFlowTests.setUp(server)
            let deltaker = try await SignallingFlowTests.join(s, token: s.token, call: [s.veileder])
            deltaker.socket.send(["type": .string("leave")])
            try await s.veileder.socket.expectRoster([s.veileder.participant])
            let forged = try await WSTestClient.connect(server)
            forged.send(["type": .string("hello"), "v": .int(2), "token": .string(JoinToken.random().encoded)])
            try await forged.expectError("invalid-token")
            #expect(try await s.http.request(.POST, "/api/consultations/\(s.consultation)/end").status == 200)

            let pvo = try await Self.officer(server)
            let reply = try await pvo.request(.GET, "/api/audit?purpose=review%20of%20consultation&consultation=\(s.consultation)")
            #expect(reply.status == 200)
            let trail = Self.entries(reply).map { ($0["action"].flatMap { if case .string(let a) = $0 { a } else { nil } } ?? "") }
            // The search itself is the last access to the consultation (issue 13, 7).
            #expect(trail == [
                "consultation.create", "room.join", "room.key", "room.knock", "room.admit", "room.key", "room.leave", "consultation.end",
                "audit.search",
            ])
            // Who: the deltaker by pseudonymous participant id, the veileder by account id and role.
            let admit = try #require(Self.entries(reply).first { $0["action"] == .string("room.admit") })
            guard case .object(let actor)? = admit["actor"] else { Issue.record("no actor"); return }
            #expect(actor["role"] == .string("veileder") && actor["kind"] == .string("user"))
            // From where: every room entry names the client's address.
            for entry in Self.entries(reply) {
                #expect(entry["client"] == .object(["ip": .string("127.0.0.1")]), "\(entry["action"] ?? .null)")
            }
            // The forged join is there, denied, with its reason.
            let denied = try await pvo.request(.GET, "/api/audit?purpose=denied%20joins&action=room.join&outcome=denied")
            #expect(Self.entries(denied).contains { $0["reason"] == .string("invalid or revoked link") })
            // Nothing secret anywhere in the log.
            let export = try await pvo.request(.GET, "/api/audit/export?purpose=check&format=jsonl")
            for secret in [s.token, "correct horse battery", "v=0"] {
                #expect(!export.body.contains(secret))
            }
        }
    }

    @Test func onlyAPersonvernombudMayReadAndOthersAreLogged() async throws {
        try await withServer { server in
            try await server.addUser("kari", role: .veileder)
            let veileder = HTTPTestClient(server)
            try await veileder.login("kari")
            let paths = [
                "/api/audit?purpose=x", "/api/audit/export?purpose=x", "/api/audit/checkpoint", "/api/audit/public-key",
                "/api/audit/verify", "/api/audit/proof/inclusion?index=0&size=1", "/api/audit/proof/consistency?from=1&to=1",
            ]
            for path in paths {
                let reply = try await veileder.request(.GET, path)
                #expect(reply.status == 403, "\(path)")
                #expect(reply.errorCode == "forbidden")
                #expect(try await HTTPTestClient(server).request(.GET, path).status == 401, "\(path)")
            }
            let refused = try await server.auditEntries().filter { $0.event.outcome == .denied && $0.event.action.rawValue.hasPrefix("audit.") }
            #expect(refused.count == paths.count)
            #expect(refused.allSatisfy { $0.event.actor.role == "veileder" })
        }
    }

    @Test func thePurposeIsRequiredAndLoggedAndFiltersWork() async throws {
        let clock = TestClock()
        try await withServer(clock: clock) { server in
            let pvo = try await Self.officer(server)
            #expect(try await pvo.request(.GET, "/api/audit").errorCode == "bad-field")
            #expect(try await pvo.request(.GET, "/api/audit?purpose=%20%20").errorCode == "bad-field")
            #expect(try await pvo.request(.GET, "/api/audit/export").errorCode == "bad-field")
            let before = clock.now
            clock.advance(by: 60)
            try await server.addUser("kari", role: .veileder)
            #expect(try await HTTPTestClient(server).login("kari", "wrong").status == 401)

            let purpose = "Deltaker ba om innsyn (sak 2026/17)"
            let encoded = purpose.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let denied = try await pvo.request(.GET, "/api/audit?purpose=\(encoded)&outcome=denied")
            #expect(Self.entries(denied).count == 1)
            #expect(Self.entries(denied).first?["action"] == .string("login"))
            // The read itself is in the log, with the purpose as its reason.
            // Issue 13, 7: with what was searched for.
            #expect(try await server.auditEntries().contains {
                $0.event.action == .auditSearch && $0.event.reason == purpose + " (searched: outcome=denied)"
            })

            let since = AuditEntry.timestamp(before.addingTimeInterval(1))
            let recent = try await pvo.request(.GET, "/api/audit?purpose=x&from=\(since)&action=account.create")
            #expect(Self.entries(recent).count == 1)
            let paged = try await pvo.request(.GET, "/api/audit?purpose=x&limit=2")
            #expect(Self.entries(paged).count == 2 && paged.json["more"] == .bool(true))
            guard case .int(let next)? = paged.json["next"] else { Issue.record("no next"); return }
            let page2 = try await pvo.request(.GET, "/api/audit?purpose=x&limit=2&after=\(next)")
            #expect(Self.entries(page2).first?["seq"] == .int(next + 1))

            // CSV for a spreadsheet: a header, one row per entry, and a purpose
            // that looks like a formula is defused.
            let csv = try await pvo.request(.GET, "/api/audit/export?purpose=%3DHYPERLINK(1)&format=csv")
            #expect(csv.headers.first(name: "Content-Type")?.hasPrefix("text/csv") == true)
            let rows = csv.body.components(separatedBy: "\r\n").filter { !$0.isEmpty }
            #expect(rows.first == "seq,at,actor_kind,actor_id,actor_role,action,consultation,outcome,reason,client_ip,leaf_hash")
            #expect(rows.count == (try await server.auditEntries().count) + 1)
            #expect(rows.last?.contains(",'=HYPERLINK(1) (searched: the whole log),") == true, "\(rows.last ?? "")")

            for bad in ["from=yesterday", "outcome=maybe", "consultation=nope", "limit=0", "limit=5000", "after=-1", "format=xml"] {
                let path = bad.hasPrefix("format") ? "/api/audit/export" : "/api/audit"
                let reply = try await pvo.request(.GET, "\(path)?purpose=x&\(bad)")
                #expect(reply.status == 400, "\(bad)")
                #expect(reply.errorCode == "bad-field", "\(bad)")
            }
            // Found by schemathesis: a page after a sequence number beyond
            // Int64 stopped the server. It is simply past the end.
            for huge in ["9223372036854775808", "18446744073709551615"] {
                let reply = try await pvo.request(.GET, "/api/audit?purpose=x&after=\(huge)")
                #expect(reply.status == 200 && Self.entries(reply).isEmpty, "\(huge)")
            }
            // Found by scripts/fuzz.sh: a long fraction made Foundation's date
            // parser raise SIGFPE, before the request was even authorized.
            let longFraction = "2025-11-24T09:31:12." + String(repeating: "1", count: 40) + "Z"
            for client in [pvo, HTTPTestClient(server)] {
                #expect(try await client.request(.GET, "/api/audit?purpose=x&from=\(longFraction)").status == 400)
            }
            #expect(try await pvo.request(.GET, "/healthz").status == 200)
        }
    }

    @Test func checkpointsAndProofsVerifyWithIndependentCode() async throws {
        try await withServer { server in
            let pvo = try await Self.officer(server)
            for i in 0..<9 { try await server.addUser("v\(i)", role: .veileder) }
            let keyText = try await pvo.request(.GET, "/api/audit/public-key").body
            let key = keyText.trimmingCharacters(in: .newlines).split(separator: "+", maxSplits: 2)
            #expect(key.count == 3)
            let publicKey = try Curve25519.Signing.PublicKey(rawRepresentation: Data(base64Encoded: String(key[2]))!.dropFirst())

            func checkpoint() async throws -> (size: UInt64, root: [UInt8]) {
                let note = try await pvo.request(.GET, "/api/audit/checkpoint").body
                let parts = note.components(separatedBy: "\n\n")
                #expect(parts.count == 2)
                let body = parts[0] + "\n"
                let line = parts[1].trimmingCharacters(in: .newlines)
                #expect(line.hasPrefix("— \(key[0]) "))
                let blob = Data(base64Encoded: String(line.split(separator: " ").last!))!
                #expect(blob.prefix(4).map { String(format: "%02x", $0) }.joined() == String(key[1]))
                #expect(publicKey.isValidSignature(blob.dropFirst(4), for: Data(body.utf8)))
                let lines = body.split(separator: "\n")
                #expect(String(lines[0]) == String(key[0]))
                return (UInt64(lines[1])!, Array(Data(base64Encoded: String(lines[2]))!))
            }

            let first = try await checkpoint()
            for i in 9..<14 { try await server.addUser("v\(i)", role: .veileder) }
            let second = try await checkpoint()
            #expect(second.size > first.size)

            // The root is the RFC 9162 hash of the exported entries.
            let export = try await pvo.request(.GET, "/api/audit/export?purpose=verify&format=jsonl")
            let lines = export.body.split(separator: "\n").map { Array($0.utf8) }
            #expect(ReferenceMerkle.mth(lines[0..<Int(second.size)]) == second.root)
            #expect(ReferenceMerkle.mth(lines[0..<Int(first.size)]) == first.root)

            for index in [0, 1, Int(first.size) - 1, Int(second.size) - 1] {
                let reply = try await pvo.request(.GET, "/api/audit/proof/inclusion?index=\(index)&size=\(second.size)")
                guard case .array(let path)? = reply.json["path"] else { Issue.record("no path"); continue }
                let hashes = path.compactMap { if case .string(let b) = $0 { Array(Data(base64Encoded: b)!) } else { nil } }
                #expect(ReferenceMerkle.verifyInclusion(
                    leafIndex: UInt64(index), treeSize: second.size, leafHash: ReferenceMerkle.leaf(lines[index]), path: hashes,
                    root: second.root), "index \(index)")
            }
            let consistency = try await pvo.request(.GET, "/api/audit/proof/consistency?from=\(first.size)&to=\(second.size)")
            guard case .array(let path)? = consistency.json["path"] else { Issue.record("no path"); return }
            let hashes = path.compactMap { if case .string(let b) = $0 { Array(Data(base64Encoded: b)!) } else { nil } }
            #expect(ReferenceMerkle.verifyConsistency(
                first: first.size, second: second.size, firstRoot: first.root, secondRoot: second.root, proof: hashes))

            for bad in ["inclusion?index=5&size=5", "inclusion?index=0&size=999999", "inclusion?index=x&size=1",
                        "consistency?from=0&to=3", "consistency?from=4&to=3", "consistency?from=1"] {
                let reply = try await pvo.request(.GET, "/api/audit/proof/\(bad)")
                #expect(reply.status == 400, "\(bad)")
            }

            let verify = try await pvo.request(.GET, "/api/audit/verify")
            #expect(verify.json["intact"] == .bool(true))
        }
    }

    @Test func theServerSignsACheckpointWithinAboutASecond() async throws {
        try await withServer { server in
            try await server.addUser("kari", role: .veileder)
            let count = try await server.auditEntries().count
            var latest: String?
            for _ in 0..<50 where latest?.hasPrefix("localhost/samrom-audit\n\(count)\n") != true {
                try await Task.sleep(for: .milliseconds(100))
                latest = try await server.app.store.latestAuditCheckpoint()
            }
            #expect(latest?.hasPrefix("localhost/samrom-audit\n\(count)\n") == true, "\(latest ?? "none")")
        }
    }

    @Test func retentionErasesContentButTheLogStillVerifies() async throws {
        let clock = TestClock()
        try await withServer(clock: clock, { $0.auditRetention = 86_400 }) { server in
            let pvo = try await Self.officer(server)
            try await server.addUser("kari", role: .veileder)
            let old = try await server.auditEntries().count
            #expect(try await pvo.request(.GET, "/api/audit/checkpoint").status == 200)
            clock.advance(by: 2 * 86_400)
            #expect(try await HTTPTestClient(server).login("pvo").status == 204)
            // The server's own hourly run may have come first; either way the
            // entries before the login (and the checkpoint request's own) go.
            _ = try await Retention.run(
                store: server.app.store, auditor: server.app.auditor, configuration: server.app.configuration, clock: server.app.clock)

            let pvoAgain = HTTPTestClient(server)
            try await pvoAgain.login("pvo")
            let export = try await pvoAgain.request(.GET, "/api/audit/export?purpose=retention%20check")
            let lines = export.body.split(separator: "\n")
            #expect(lines.first?.hasPrefix(#"{"erased":true,"leafHash":""#) == true)
            #expect(lines.first?.hasSuffix(#","seq":0}"#) == true)
            #expect(!export.body.contains("kari"))
            #expect(export.body.contains(#""action":"purge""#))
            // Erased entries no longer match any search.
            let search = try await pvoAgain.request(.GET, "/api/audit?purpose=x&action=account.create")
            #expect(Self.entries(search).isEmpty)
            let verify = try await pvoAgain.request(.GET, "/api/audit/verify")
            #expect(verify.json["intact"] == .bool(true), "\(verify.body)")
            #expect(verify.json["erased"] == .int(Int64(old + 1)))
            // The purge entry declares the erased prefix (AuditErasure).
            let purge = try await server.auditEntries().last { $0.event.action == .purge }
            #expect(purge.flatMap { AuditErasure.declaredEnd($0.event.reason) } == UInt64(old + 1))
        }
    }

    @Test func aDeltakerSeesWhoAccessedTheirConsultationAndNothingElse() async throws {
        try await withServer { server in
            let a = try await SignallingFlowTests.setUp(server, username: "anne")
            let b = try await SignallingFlowTests.setUp(server, username: "bjorn")
            _ = try await SignallingFlowTests.knock(a, token: a.token)
            let tolkToken = try await SignallingFlowTests.link(a, role: "tolk")
            _ = try await SignallingFlowTests.knock(a, token: tolkToken)
            _ = try await SignallingFlowTests.knock(b, token: b.token)
            // Issue 13, 7: a personvernombud's lookup of this consultation is
            // an access the deltaker sees (as a role, never a name); one of
            // another consultation is not.
            let pvo = try await Self.officer(server)
            #expect(try await pvo.request(.GET, "/api/audit?purpose=innsyn&consultation=\(a.consultation)").status == 200)
            #expect(try await pvo.request(.GET, "/api/audit?purpose=innsyn&consultation=\(b.consultation)").status == 200)

            let deltaker = HTTPTestClient(server)
            let report = try await deltaker.request(.POST, "/api/access-report", body: #"{"token":"\#(a.token)"}"#)
            #expect(report.status == 200, "\(report.body)")
            guard case .array(let accesses)? = report.json["accesses"] else { Issue.record("no accesses"); return }
            let rows = accesses.compactMap { if case .object(let o) = $0 { o } else { nil } }
            #expect(rows.contains { $0["name"] == .string("anne") && $0["role"] == .string("veileder") })
            #expect(rows.contains { $0["role"] == .string("deltaker") && $0["action"] == .string("room.knock") })
            // That a tolk took part is shown, as a role, never a name.
            #expect(rows.contains { $0["role"] == .string("tolk") && $0["action"] == .string("room.knock") && $0["name"] == nil })
            let lookups = rows.filter { $0["action"] == .string("audit.search") }
            #expect(lookups.count == 1)
            #expect(lookups.first?["role"] == .string("privacy-officer") && lookups.first?["name"] == nil)
            #expect(!report.body.contains("pvo"))
            // Nothing of Bjørn's consultation, no addresses, no ids.
            #expect(!report.body.contains("bjorn"))
            #expect(!report.body.contains("127.0.0.1"))
            #expect(!report.body.contains("p-"))
            #expect(!report.body.contains(a.consultation) && !report.body.contains(b.consultation))

            // Only the deltaker link opens the report; the tolk's does not.
            for body in [#"{"token":"\#(JoinToken.random().encoded)"}"#, #"{"token":"x"}"#, #"{"token":"\#(tolkToken)"}"#] {
                let reply = try await deltaker.request(.POST, "/api/access-report", body: body)
                #expect(reply.status == 404)
                #expect(reply.errorCode == "invalid-token")
            }
            #expect(try await deltaker.request(.POST, "/api/access-report", body: "{}").errorCode == "bad-field")
            #expect(try await server.auditEntries().contains { $0.event.action == .accessReport && $0.event.consultation?.rawValue == a.consultation })
        }
    }
}
