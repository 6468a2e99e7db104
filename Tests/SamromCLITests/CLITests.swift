import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import SamromCore
import SamromStore
import SamromTestSupport
import Testing

/// The `samrom` binary, run as an administrator would run it.
@Suite struct CLITests {
    @Test func addListAndDisableUsers() async throws {
        try await SamromProcess.withDataDirectory { data in
            let added = try await SamromProcess.run(
                ["user", "add", "--username", "Kari.Nordmann", "--role", "veileder", "--data-dir", data],
                input: "a long secret passphrase\n")
            #expect(added.status == 0, "\(added.error)")
            #expect(added.output.contains("kari.nordmann"))
            #expect(!added.output.contains("passphrase") && !added.error.contains("passphrase"))

            let pvo = try await SamromProcess.run(
                ["user", "add", "--username", "pvo", "--role", "privacy-officer", "--data-dir", data], input: "another secret\r\n")
            #expect(pvo.status == 0, "\(pvo.error)")

            let duplicate = try await SamromProcess.run(
                ["user", "add", "--username", "kari.nordmann", "--role", "veileder", "--data-dir", data], input: "x\n")
            #expect(duplicate.status != 0)

            let list = try await SamromProcess.run(["user", "list", "--data-dir", data])
            #expect(list.status == 0)
            let lines = list.output.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
            #expect(lines.contains(["kari.nordmann", "veileder", "active"]))
            #expect(lines.contains(["pvo", "privacy-officer", "active"]))

            #expect(try await SamromProcess.run(["user", "disable", "kari.nordmann", "--data-dir", data]).status == 0)
            #expect(try await SamromProcess.run(["user", "list", "--data-dir", data]).output.contains("kari.nordmann\tveileder\tdisabled"))
            let unknown = try await SamromProcess.run(["user", "disable", "nobody", "--data-dir", data])
            #expect(unknown.status != 0)
            #expect(unknown.error.contains("no account named nobody"))

            // The trail has the account changes, and never a password.
            let export = try await SamromProcess.run(["audit", "export", "--data-dir", data])
            #expect(export.status == 0)
            let entries = export.output.split(separator: "\n")
            #expect(entries.count >= 3)
            #expect(entries.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil })
            #expect(export.output.contains("account.create") && export.output.contains("account.disable"))
            #expect(!export.output.contains("passphrase"))
        }
    }

    /// `samrom stats`: the month's figures as text or CSV for the annual
    /// report, the read audited; a leder account is granted here. (The
    /// counting itself is tested on real calls in StatsAPITests.)
    @Test func statsPrintTheMonthsFiguresAndTheReadIsLogged() async throws {
        try await SamromProcess.withDataDirectory { data in
            let leder = try await SamromProcess.run(
                ["user", "add", "--username", "leder", "--role", "leder", "--data-dir", data], input: "a long secret passphrase\n")
            #expect(leder.status == 0, "\(leder.error)")
            let csv = try await SamromProcess.run(["stats", "--month", "2026-11", "--format", "csv", "--data-dir", data])
            #expect(csv.status == 0, "\(csv.error)")
            let rows = csv.output.components(separatedBy: "\r\n")
            #expect(rows.first == "month,figure,value,description")
            #expect(rows.contains("2026-11,booked,0,Samtaler med bestilt tid"), "\(rows)")
            #expect(rows.filter { $0.hasPrefix("2026-11,") }.count == FigureKey.allCases.count)
            let text = try await SamromProcess.run(["stats", "--month", "2026-11", "--language", "en", "--data-dir", data])
            #expect(text.status == 0 && text.output.contains("2026-11") && text.output.contains("Calls held"), "\(text.output)")

            for (flags, mentioned) in [
                (["--month", "2026-13"], "--month"), (["--month", "november"], "--month"), (["--month", "2026-11", "--format", "xml"], "--format"),
                (["--month", "2026-11", "--time-zone", "Mars/Olympus"], "--time-zone"), (["--month", "2026-11", "--language", "de"], "--language"),
                ([], "--month"),
            ] {
                let bad = try await SamromProcess.run(["stats"] + flags + ["--data-dir", data])
                #expect(bad.status != 0 && bad.error.contains(mentioned), "\(flags): \(bad.error)")
            }
            let export = try await SamromProcess.run(["audit", "export", "--data-dir", data])
            #expect(export.output.components(separatedBy: "stats.read").count - 1 == 2, "one entry per answered read")
        }
    }

    @Test func resetSecondFactorForALostPhone() async throws {
        try await SamromProcess.withDataDirectory { data in
            let added = try await SamromProcess.run(
                ["user", "add", "--username", "kari", "--role", "veileder", "--data-dir", data], input: "a long secret passphrase\n")
            #expect(added.status == 0, "\(added.error)")
            // A confirmed enrolment as the server stores it (the reset never opens it).
            let store = try SQLiteStore(directory: URL(fileURLWithPath: data))
            let account = try #require(try await store.account(username: "kari"))
            let sealed = SealedSecret(nonce: Array(repeating: 1, count: 24), ciphertext: Array(repeating: 2, count: 36))
            #expect(try await store.beginTOTPEnrolment(account.id, sealedSecret: sealed, at: Date()))
            #expect(try await store.confirmTOTPEnrolment(account.id, sealedSecret: sealed, step: 1, recoveryCodes: [], at: Date()))

            let reset = try await SamromProcess.run(["user", "reset-second-factor", "KARI", "--data-dir", data])
            #expect(reset.status == 0, "\(reset.error)")
            #expect(reset.output.contains("Reset the second factor of kari"))
            #expect(try await store.totpEnrolment(of: account.id) == nil)
            let again = try await SamromProcess.run(["user", "reset-second-factor", "kari", "--data-dir", data])
            #expect(again.status != 0 && again.error.contains("kari has no second factor set up"), "\(again.error)")
            let unknown = try await SamromProcess.run(["user", "reset-second-factor", "nobody", "--data-dir", data])
            #expect(unknown.status != 0 && !unknown.error.contains("Fatal error"))
            let export = try await SamromProcess.run(["audit", "export", "--data-dir", data])
            #expect(export.output.split(separator: "\n").filter { $0.contains("second-factor.reset") }.count == 1)
        }
    }

    @Test func linkAnAccountToItsIdentityAtTheProvider() async throws {
        try await SamromProcess.withDataDirectory { data in
            for name in ["kari", "ola"] {
                let added = try await SamromProcess.run(
                    ["user", "add", "--username", name, "--role", "veileder", "--data-dir", data], input: "a long secret passphrase\n")
                #expect(added.status == 0, "\(added.error)")
            }
            let linked = try await SamromProcess.run(["user", "link-identity", "kari", "  Kari.Nordmann@Testby.Kommune.no ", "--data-dir", data])
            #expect(linked.status == 0, "\(linked.error)")
            #expect(linked.output.contains("Linked kari to kari.nordmann@testby.kommune.no"))
            let taken = try await SamromProcess.run(["user", "link-identity", "ola", "kari.nordmann@testby.kommune.no", "--data-dir", data])
            #expect(taken.status != 0 && taken.error.contains("another account is linked to that identity"), "\(taken.error)")
            let unknown = try await SamromProcess.run(["user", "link-identity", "nobody", "x@y", "--data-dir", data])
            #expect(unknown.status != 0 && unknown.error.contains("no account named nobody"))
            for bad in [["kari"], ["kari", "x@y", "--remove"], ["kari", String(repeating: "x", count: 300)], ["kari", "a\u{7}b"]] {
                let run = try await SamromProcess.run(["user", "link-identity"] + bad + ["--data-dir", data])
                #expect(run.status != 0 && !run.error.contains("Fatal error"), "\(bad)")
            }
            let store = try SQLiteStore(directory: URL(fileURLWithPath: data))
            let kari = try #require(try await store.account(username: "kari"))
            #expect(try await store.identity(of: kari.id) == "kari.nordmann@testby.kommune.no")
            let removed = try await SamromProcess.run(["user", "link-identity", "kari", "--remove", "--data-dir", data])
            #expect(removed.status == 0 && removed.output.contains("Removed the identity link of kari"))
            #expect(try await store.identity(of: kari.id) == nil)
            // The log says an account was linked, never to what.
            let export = try await SamromProcess.run(["audit", "export", "--data-dir", data])
            #expect(export.output.split(separator: "\n").filter { $0.contains("account.identity") }.count == 2)
            #expect(!export.output.lowercased().contains("kari.nordmann"))
        }
    }

    @Test func badInputIsAnsweredWithAClearErrorAndNoChange() async throws {
        try await SamromProcess.withDataDirectory { data in
            let files = FileManager.default.temporaryDirectory.appendingPathComponent("samrom-pw-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: files) }
            let exposed = files.appendingPathComponent("exposed").path, empty = files.appendingPathComponent("empty").path
            _ = FileManager.default.createFile(atPath: exposed, contents: Data("secret\n".utf8), attributes: [.posixPermissions: 0o644])
            _ = FileManager.default.createFile(atPath: empty, contents: Data("\n".utf8), attributes: [.posixPermissions: 0o600])
            let cases: [([String], String?)] = [
                (["user", "add", "--username", "kari", "--role", "superuser", "--data-dir", data], "x\n"),
                (["user", "add", "--username", "Kari Nordmann!", "--role", "veileder", "--data-dir", data], "x\n"),
                (["user", "add", "--username", "kari", "--role", "veileder", "--data-dir", data], ""),
                (["user", "add", "--username", "kari", "--role", "veileder", "--data-dir", data], "\n"),
                (["user", "add", "--username", "kari", "--role", "veileder", "--data-dir", data], String(repeating: "p", count: 10_000) + "\n"),
                (["user", "frobnicate", "--data-dir", data], nil),
                (["serve", "--port", "70000", "--data-dir", data], nil),
                (["serve", "--tls-cert", "/nonexistent.crt", "--data-dir", data], nil),
                (["serve", "--turn-url", "turns:x:443", "--data-dir", data], nil),
                (["serve", "--public-origin", "http://insecure", "--data-dir", data], nil),
                (["serve", "--message-rate", "0", "--data-dir", data], nil),
                (["serve", "--message-rate", "nan", "--data-dir", data], nil),
                (["serve", "--message-burst", "-5", "--data-dir", data], nil),
                (["serve", "--privacy-notice-url", "http://kommune.example/personvern", "--data-dir", data], nil),
                (["serve", "--accessibility-statement-url", "https://uustatus.no/\"><script>", "--data-dir", data], nil),
                (["serve", "--privacy-notice-url", "https://", "--data-dir", data], nil),
                (["audit", "export", "--format", "xml", "--data-dir", data], nil),
                // --store: another database kind, a URL without a host, a server that is not there.
                (["user", "list", "--store", "mysql://db.example/samrom", "--data-dir", data], nil),
                (["audit", "verify", "--store", "postgres://", "--data-dir", data], nil),
                (["user", "list", "--store", "postgres://samrom@127.0.0.1:1/samrom", "--data-dir", data], nil),
                // A password file: only with PostgreSQL, readable, not empty, and not readable by others.
                (["user", "list", "--store-password-file", exposed, "--data-dir", data], nil),
                (["user", "list", "--store", "postgres://samrom@127.0.0.1:1/samrom", "--store-password-file", data + "/none", "--data-dir", data], nil),
                (["user", "list", "--store", "postgres://samrom@127.0.0.1:1/samrom", "--store-password-file", exposed, "--data-dir", data], nil),
                (["user", "list", "--store", "postgres://samrom@127.0.0.1:1/samrom", "--store-password-file", empty, "--data-dir", data], nil),
            ]
            for (arguments, input) in cases {
                let run = try await SamromProcess.run(arguments, input: input)
                #expect(run.status != 0, "\(arguments) should fail")
                #expect(!run.error.isEmpty, "\(arguments) should say why")
                #expect(!run.error.contains("Fatal error"), "\(arguments) crashed: \(run.error)")
            }
            let list = try await SamromProcess.run(["user", "list", "--data-dir", data])
            #expect(list.output.contains("No accounts."))

            // A data directory that cannot be a directory.
            let file = data + "-file"
            _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
            defer { try? FileManager.default.removeItem(atPath: file) }
            let blocked = try await SamromProcess.run(["user", "list", "--data-dir", file])
            #expect(blocked.status != 0)
            #expect(blocked.error.contains("cannot open the data directory"))
        }
    }

    @Test func serveDemoPrintsAccountsThatCanLogInAndStopsOnSIGTERM() async throws {
        try await SamromProcess.withDataDirectory { data in
            let server = try await SamromProcess.serve(dataDirectory: data, arguments: ["--demo"])
            defer { server.terminate() }
            let printed = server.log
            let lines = printed.split(separator: "\n").map(String.init)
            let demo = lines.filter { $0.hasPrefix("  ") }.map { $0.split(separator: " ").map(String.init) }
            #expect(demo.count == 2, "\(printed)")
            let veileder = try #require(demo.first { $0.first == "veileder" })
            #expect(demo.contains { $0.first == "privacy-officer" && $0.contains("personvernombud") })

            // The printed password logs in, over the self-signed certificate it made.
            #expect(try await ServerRequest.login(server, "veileder", veileder.last!).status == 204)

            // SIGTERM shuts it down gracefully, signing a last checkpoint.
            server.terminate()
            #expect(await server.child.end() == .exited(0))
            let checkpoint = try await SamromProcess.run(["audit", "checkpoint", "--data-dir", data]).output
            let entries = try await SamromProcess.run(["audit", "export", "--data-dir", data]).output.split(separator: "\n").count
            #expect(checkpoint.hasPrefix("localhost/samrom-audit\n\(entries)\n"), "\(checkpoint)")

            // A second --demo on the same data creates nothing new.
            let again = try await SamromProcess.run(["user", "list", "--data-dir", data])
            #expect(again.output.split(separator: "\n").count == 2)
        }
    }

    /// Issue 13, 1: a command that writes the audit log beside a running
    /// server (here `user add`) takes the next sequence number in the store;
    /// the server's tree catches up from the store and goes on signing.
    @Test func aCommandWritingTheLogBesideTheServerDoesNotStallItsCheckpoints() async throws {
        try await SamromProcess.withDataDirectory { data in
            let server = try await SamromProcess.serve(dataDirectory: data, arguments: ["--demo"])
            defer { server.terminate() }
            let demo = server.log.split(separator: "\n").filter { $0.hasPrefix("  ") }.map { $0.split(separator: " ").map(String.init) }
            let officer = try #require(demo.first { $0.first == "privacy-officer" })
            let login = try await ServerRequest.login(server, officer[1], officer.last!)
            #expect(login.status == 204)
            let cookie = try #require(login.cookie)
            #expect(try await SamromProcess.run(
                ["user", "add", "--username", "kari", "--role", "veileder", "--data-dir", data], input: "a good long password\n").status == 0)
            for _ in 0..<4 {
                #expect(try await ServerRequest.send(server, .GET, "/api/audit/checkpoint", cookie: cookie).status == 200)
            }
            // The server signs within about a second of an append.
            try await Task.sleep(for: .milliseconds(2500))
            let stored = try await SamromProcess.run(["audit", "export", "--data-dir", data]).output.split(separator: "\n").count
            let note = try await ServerRequest.send(server, .GET, "/api/audit/checkpoint", cookie: cookie).body
            let size = note.split(separator: "\n").dropFirst().first.flatMap { Int($0) } ?? -1
            #expect(size >= stored, "the server signed \(size) entries of \(stored) stored")
        }
    }
}
