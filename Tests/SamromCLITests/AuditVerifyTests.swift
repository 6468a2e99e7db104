import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization
import SamromTestSupport
import Testing

/// `samrom audit verify` catches every way of changing the stored log, as an
/// attacker with the database file would: edits are made with the sqlite3
/// command-line tool and Python, never through Samrom's code.
@Suite struct AuditVerifyTests {
    /// A data directory whose log has `users` account entries and a signed checkpoint after each.
    static func log(_ data: String, users: Int, from first: Int = 0) async throws {
        for i in first..<(first + users) {
            let run = try await SamromProcess.run(["user", "add", "--username", "user\(i)", "--role", "veileder", "--data-dir", data], input: "password number \(i)\n")
            #expect(run.status == 0, "\(run.error)")
        }
    }

    static func sql(_ data: String, _ statement: String) async throws {
        try await run("/usr/bin/sqlite3", [data + "/samrom.sqlite", statement])
    }

    /// Rewrites the whole log with Python as a careful attacker would: entries
    /// renumbered and every leaf hash recomputed, so only the signed
    /// checkpoints can tell.
    static func python(_ data: String, _ script: String) async throws {
        let prelude = #"""
            import hashlib, json, sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            rows = [json.loads(r[0]) for r in db.execute("SELECT entry FROM auditEntry ORDER BY seq")]
            def save(rows):
                db.execute("DELETE FROM auditEntry")
                for i, e in enumerate(rows):
                    e["seq"] = i
                    b = json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
                    db.execute("INSERT INTO auditEntry (seq, leafHash, entry, action, outcome) VALUES (?,?,?,?,?)",
                               (i, hashlib.sha256(b"\x00" + b).digest(), b, e["action"], e["outcome"]))
                db.commit()

            """#
        try await run("/usr/bin/env", ["python3", "-c", prelude + script, data + "/samrom.sqlite"])
    }

    static func run(_ executable: String, _ arguments: [String]) async throws {
        let result = try await Command.run(executable, arguments)
        guard result.status == 0 else { throw TestFailure("\(executable) failed: \(result.error)") }
    }

    static func verify(_ data: String, checkpoint: String? = nil) async throws -> SamromProcess.Run {
        var arguments = ["audit", "verify", "--data-dir", data]
        if let checkpoint { arguments += ["--checkpoint", checkpoint] }
        return try await SamromProcess.run(arguments)
    }

    @Test func anUntouchedLogVerifies() async throws {
        try await SamromProcess.withDataDirectory { data in
            try await Self.log(data, users: 6)
            let run = try await Self.verify(data)
            #expect(run.status == 0, "\(run.error)")
            #expect(run.output.contains("Audit log intact: 6 entries"))
            #expect(run.output.contains("Verified 6 signed checkpoints"))
            let key = try await SamromProcess.run(["audit", "public-key", "--data-dir", data]).output.trimmingCharacters(in: .newlines)
            #expect(key.hasPrefix("localhost/samrom-audit+"))
            let withKey = try await SamromProcess.run(["audit", "verify", "--data-dir", data, "--verifier-key", key])
            #expect(withKey.status == 0)
            // Another log's key does not verify this one.
            let other = try await SamromProcess.run([
                "audit", "verify", "--data-dir", data, "--verifier-key",
                "localhost/samrom-audit+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            ])
            #expect(other.status == 1)
            // The signing key is private to the server's user.
            let attributes = try FileManager.default.attributesOfItem(atPath: data + "/audit-signing.key")
            #expect(attributes[.posixPermissions] as? Int == 0o600)
        }
    }

    @Test(arguments: [
        ("altered", "UPDATE auditEntry SET entry = replace(entry, 'veileder', 'admin') WHERE seq = 3", "entry 3: its content does not match"),
        ("deleted", "DELETE FROM auditEntry WHERE seq = 3", "entry 3: is missing"),
        ("reordered", """
            UPDATE auditEntry SET seq = -1 WHERE seq = 2; UPDATE auditEntry SET seq = 2 WHERE seq = 3;
            UPDATE auditEntry SET seq = 3 WHERE seq = -1;
            """, "entry 2: its content names another position"),
        ("truncated", "DELETE FROM auditEntry WHERE seq >= 4", "entry 4: is missing"),
        // Issue 13, 3: erasure is retention's only, of the oldest, and declared.
        ("erased in the middle", """
            UPDATE auditEntry SET entry = NULL, atMs = NULL, actorId = NULL, action = NULL,
                consultation = NULL, outcome = NULL WHERE seq = 3
            """, "entry 3: its content is erased but older entries' is not"),
        ("erased from the start, undeclared", """
            UPDATE auditEntry SET entry = NULL, atMs = NULL, actorId = NULL, action = NULL,
                consultation = NULL, outcome = NULL WHERE seq < 2
            """, "entry 0: its content is erased but no retention entry says so"),
    ])
    func aChangedEntryIsNamed(_ change: (String, String, String)) async throws {
        try await SamromProcess.withDataDirectory { data in
            try await Self.log(data, users: 6)
            try await Self.sql(data, change.1)
            let run = try await Self.verify(data)
            #expect(run.status == 1, "\(change.0) was not detected")
            #expect(run.error.contains(change.2), "\(change.0): \(run.error)")
        }
    }

    @Test func aRewriteWithRecomputedHashesIsCaughtByTheSignedCheckpoints() async throws {
        try await SamromProcess.withDataDirectory { data in
            try await Self.log(data, users: 6)
            // Inserted: a forged entry at position 2, everything after renumbered and rehashed.
            try await Self.python(data, """
                forged = dict(rows[2]); forged["reason"] = "forged"
                save(rows[:2] + [forged] + rows[2:])
                """)
            let inserted = try await Self.verify(data)
            #expect(inserted.status == 1)
            #expect(inserted.error.contains("entry 2: or a later one"), "\(inserted.error)")
        }
        try await SamromProcess.withDataDirectory { data in
            try await Self.log(data, users: 6)
            // Altered in place, with its leaf hash recomputed.
            try await Self.python(data, """
                rows[4]["reason"] = "nothing to see"
                save(rows)
                """)
            let altered = try await Self.verify(data)
            #expect(altered.status == 1)
            #expect(altered.error.contains("entry 4: or a later one"), "\(altered.error)")
        }
    }

    @Test func aRollbackIsCaughtAgainstASavedCheckpoint() async throws {
        try await SamromProcess.withDataDirectory { data in
            try await Self.log(data, users: 3)
            // The operator keeps a backup; the personvernombud later saves a checkpoint.
            let backup = data + "-backup"
            try FileManager.default.copyItem(atPath: data, toPath: backup)
            defer { try? FileManager.default.removeItem(atPath: backup) }
            try await Self.log(data, users: 3, from: 3)
            let saved = data + "-checkpoint.txt"
            let note = try await SamromProcess.run(["audit", "checkpoint", "--data-dir", data]).output
            #expect(note.hasPrefix("localhost/samrom-audit\n6\n"))
            try Data(note.utf8).write(to: URL(fileURLWithPath: saved))
            defer { try? FileManager.default.removeItem(atPath: saved) }
            #expect(try await Self.verify(data, checkpoint: saved).status == 0)

            // Rolled back to the backup: consistent in itself, but shorter than the saved checkpoint.
            try FileManager.default.removeItem(atPath: data)
            try FileManager.default.copyItem(atPath: backup, toPath: data)
            #expect(try await Self.verify(data).status == 0)
            let rolledBack = try await Self.verify(data, checkpoint: saved)
            #expect(rolledBack.status == 1)
            #expect(rolledBack.error.contains("entry 3: is missing"), "\(rolledBack.error)")

            // Rolled back and then grown again differently: same size, other history.
            try await Self.log(data, users: 4, from: 10)
            let forked = try await Self.verify(data, checkpoint: saved)
            #expect(forked.status == 1)
            #expect(forked.error.contains("saved checkpoint of size 6 does not match"), "\(forked.error)")

            // A checkpoint that is not signed by this log's key is refused.
            try Data(note.replacingOccurrences(of: "\n6\n", with: "\n5\n").utf8).write(to: URL(fileURLWithPath: saved))
            let forgedCheckpoint = try await Self.verify(data, checkpoint: saved)
            #expect(forgedCheckpoint.status == 1)
            #expect(forgedCheckpoint.error.contains("not validly signed"))
        }
    }

    @Test func aServerKilledMidBurstLeavesAVerifiableLogThatGoesOn() async throws {
        try await SamromProcess.withDataDirectory { data in
            let run = try await SamromProcess.run(["user", "add", "--username", "kari", "--role", "veileder", "--data-dir", data], input: "kari's password\n")
            #expect(run.status == 0)
            let server = try await SamromProcess.serve(dataDirectory: data)
            defer { server.terminate() }

            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: server.tls))
            let base = "https://localhost:\(server.port)"
            var login = HTTPClientRequest(url: base + "/api/session")
            login.method = .POST
            login.body = .bytes(ByteBuffer(string: #"{"username":"kari","password":"kari's password"}"#))
            let cookie: String
            do {
                let response = try await client.execute(login, timeout: .seconds(30))
                cookie = String(response.headers.first(name: "Set-Cookie")?.split(separator: ";").first ?? "")
            } catch {
                try await client.shutdown()
                throw error
            }

            // A burst of audited requests, 8 at a time; SIGKILL lands in the middle.
            let answered = Counter()
            let pid = server.child.pid
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        for _ in 0..<100 {
                            var request = HTTPClientRequest(url: base + "/api/consultations")
                            request.method = .POST
                            request.headers.add(name: "Cookie", value: cookie)
                            request.headers.add(name: "Content-Type", value: "application/json")
                            request.body = .bytes(ByteBuffer(string: "{}"))
                            guard let response = try? await client.execute(request, timeout: .seconds(5)), response.status == .created else { return }
                            answered.increment()
                        }
                    }
                }
                group.addTask {
                    while answered.value < 150 { try? await Task.sleep(for: .milliseconds(5)) }
                    kill(pid, SIGKILL)
                }
            }
            #expect(await server.child.end() == .signalled(SIGKILL))
            try await client.shutdown()

            // Every answered request's entry is there, and the log verifies.
            let verify = try await AuditVerifyTests.verify(data)
            #expect(verify.status == 0, "\(verify.error)")
            let export = try await SamromProcess.run(["audit", "export", "--data-dir", data]).output
            let created = export.split(separator: "\n").filter { $0.contains(#""action":"consultation.create""#) }.count
            #expect(created >= answered.value, "\(created) entries for \(answered.value) answered requests")

            // After a restart the log goes on and still verifies.
            #expect(try await SamromProcess.run(["user", "add", "--username", "after", "--role", "veileder", "--data-dir", data], input: "another password\n").status == 0)
            let again = try await AuditVerifyTests.verify(data)
            #expect(again.status == 0, "\(again.error)")
        }
    }
}

/// A counter shared by concurrent tasks.
final class Counter: Sendable {
    private let storage = Mutex(0)
    func increment() { storage.withLock { $0 += 1 } }
    var value: Int { storage.withLock { $0 } }
}
