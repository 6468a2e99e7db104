import Foundation
import SamromTestSupport
import Testing

/// `samrom doctor` against a set-up that is right and one broken on purpose:
/// a real certificate chain made by Certs/make-dev-certs.sh, a real coturn for
/// the TURN allocation, a real data directory made by `samrom user add`.
@Suite(.serialized) struct DoctorTests {
    /// A development CA and a server certificate for localhost, made by the
    /// project's own script; removed afterwards.
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs a tool to its end with `environment` added to the test process's; its exit status.
    static func tool(_ path: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> Int32 {
        try await Command.run(path, arguments, environment: ProcessInfo.processInfo.environment.merging(environment) { $1 }).status
    }

    static func withCertificates<T>(_ body: (URL) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("samrom-doctor-certs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let script = repositoryRoot.appendingPathComponent("Certs/make-dev-certs.sh").path
        let made = try await tool("/bin/sh", [script], environment: ["SAMROM_CERTS_OUT": directory.path])
        try #require(made == 0, "Certs/make-dev-certs.sh failed")
        return try await body(directory)
    }

    /// A coturn on a free port, the certificates, and a data directory with
    /// one account in it (made by `samrom user add`, as an operator would).
    static func withSetUp(_ body: (TurnServer, URL, String) async throws -> Void) async throws {
        let turn = try await TurnServer.start(port: TurnServer.unusedPort())
        defer { turn.stop() }
        try await withCertificates { certs in
            try await SamromProcess.withDataDirectory { data in
                let added = try await SamromProcess.run(
                    ["user", "add", "--username", "kari", "--role", "veileder", "--data-dir", data], input: "a long secret passphrase\n")
                try #require(added.status == 0, "\(added.error)")
                try await body(turn, certs, data)
            }
        }
    }

    static func lines(_ output: String, _ severity: String, _ check: String) -> [String] {
        output.split(separator: "\n").map(String.init).filter { $0.hasPrefix(severity) && $0.contains(" \(check) ") }
    }

    @Test(.enabled(if: TurnServer.available, "needs coturn (make test installs it)"))
    func aGoodSetUpHasNoProblems() async throws {
        try await Self.withSetUp { turn, certs, data in
            let run = try await SamromProcess.run([
                "doctor", "--data-dir", data,
                "--tls-cert", certs.appendingPathComponent("server.crt").path, "--tls-key", certs.appendingPathComponent("server.key").path,
                "--trust-ca-file", certs.appendingPathComponent("ca.crt").path,
                "--public-origin", "https://localhost:8443",
                "--turn-url", turn.url, "--turn-url", "turn:127.0.0.1:\(turn.port)?transport=tcp", "--turn-secret-file", turn.secretFile.path,
                "--min-free-disk-mb", "1",
            ])
            #expect(run.status == 0, "\(run.output)\n\(run.error)")
            for check in ["certificate", "data-directory", "public-origin", "retention", "disk", "store"] {
                #expect(Self.lines(run.output, "ok", check).count >= 1, "\(check): \(run.output)")
            }
            #expect(Self.lines(run.output, "ok", "turn").count == 2, "\(run.output)")
            #expect(!run.output.contains("PROBLEM"), "\(run.output)")
            #expect(run.output.contains("trusted, for localhost"), "\(run.output)")
            // Never the TURN secret.
            #expect(!run.output.contains(turn.secret) && !run.error.contains(turn.secret))
        }
    }

    @Test(.enabled(if: TurnServer.available, "needs coturn (make test installs it)"))
    func aBrokenSetUpIsToldInPlainWordsAndExitsNonZero() async throws {
        try await Self.withSetUp { turn, certs, data in
            // A restore that left the database readable by everyone.
            let database = data + "/samrom.sqlite"
            #expect(chmod(database, 0o644) == 0)
            // A key that is not the certificate's.
            let otherKey = certs.appendingPathComponent("other.key").path
            #expect(try await Self.tool("/usr/bin/openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", otherKey]) == 0)
            // The wrong TURN secret.
            let wrongSecret = certs.appendingPathComponent("wrong-turn-secret").path
            try Data("not-the-secret-coturn-has-0123456789".utf8).write(to: URL(fileURLWithPath: wrongSecret))

            let run = try await SamromProcess.run([
                "doctor", "--data-dir", data,
                "--tls-cert", certs.appendingPathComponent("server.crt").path, "--tls-key", otherKey,
                "--turn-url", turn.url, "--turn-url", "turn:127.0.0.1:9?transport=udp", "--turn-secret-file", wrongSecret,
                "--turn-timeout", "2",
                "--audit-retention-days", "90",
                "--min-free-disk-mb", "100000000",
            ])
            #expect(run.status == 1, "\(run.output)\n\(run.error)")
            let problems = run.output.split(separator: "\n").filter { $0.hasPrefix("PROBLEM") }.map(String.init)
            // The key, and a certificate no browser trusts (no --trust-ca-file, no public origin).
            #expect(problems.contains { $0.contains("certificate") && $0.contains("--tls-key is not the key of the certificate") }, "\(problems)")
            #expect(problems.contains { $0.contains("certificate") && $0.contains("browsers would not trust it") }, "\(problems)")
            #expect(problems.contains { $0.contains("data-directory") && $0.contains("samrom.sqlite has mode 0644") }, "\(problems)")
            #expect(problems.contains { $0.contains("public-origin") && $0.contains("--public-origin is not set") }, "\(problems)")
            #expect(problems.contains { $0.contains(" turn ") && $0.contains(turn.url) }, "\(problems)")
            #expect(problems.contains { $0.contains(" turn ") && $0.contains("127.0.0.1:9") }, "\(problems)")
            #expect(problems.contains { $0.contains(" disk ") && $0.contains("less than") }, "\(problems)")
            #expect(Self.lines(run.output, "warning", "retention").first?.contains("90 days") == true, "\(run.output)")
            #expect(run.output.contains("problems,"), "\(run.output)")
            #expect(!run.output.contains("not-the-secret-coturn-has"))

            // A certificate for another name than the public origin's.
            let renamed = try await SamromProcess.run([
                "doctor", "--data-dir", data, "--min-free-disk-mb", "0", "--public-origin", "https://samrom.kommune.example",
                "--tls-cert", certs.appendingPathComponent("server.crt").path, "--tls-key", certs.appendingPathComponent("server.key").path,
                "--trust-ca-file", certs.appendingPathComponent("ca.crt").path,
            ])
            #expect(renamed.status == 1)
            #expect(Self.lines(renamed.output, "PROBLEM", "certificate").first?.contains("it is not for samrom.kommune.example") == true,
                    "\(renamed.output)")
        }
    }

    /// Without any flags on a machine with nothing set up: it says so, no crash.
    @Test func anEmptySetUpIsAnsweredAndBadFlagsRefused() async throws {
        try await SamromProcess.withDataDirectory { data in
            let run = try await SamromProcess.run(["doctor", "--data-dir", data + "/none", "--min-free-disk-mb", "0"])
            #expect(run.status == 1, "\(run.output)\n\(run.error)")
            #expect(run.output.contains("does not exist yet"), "\(run.output)")
            #expect(!FileManager.default.fileExists(atPath: data + "/none"), "doctor made the data directory")
            for flags in [
                ["--min-free-disk-mb", "-1"], ["--turn-timeout", "0"], ["--trust-ca-file", "/nonexistent.pem"],
                ["--chat-retention-days", "99999"], ["--tls-cert", "/nonexistent.crt"],
                ["--privacy-notice-url", "javascript:alert(1)"],
            ] {
                let bad = try await SamromProcess.run(["doctor", "--data-dir", data] + flags)
                #expect(bad.status != 0 && !bad.error.isEmpty && !bad.error.contains("Fatal error"), "\(flags): \(bad.error)")
            }
        }
    }
}

/// docs/municipality/ names only flags that `samrom` has: a renamed or
/// removed flag fails here until the documents a municipality adopts follow.
@Suite struct MunicipalityDocFlagTests {
    /// Flags of the other tools the operations guide uses (adduser, swift
    /// build, systemctl, certbot), and the `--oidc-*` / `--id-porten-*` groups.
    static let otherTools: Set<String> = [
        "--deploy-hook", "--group", "--home", "--no-create-home", "--now", "--product", "--standalone", "--static-swift-stdlib",
        "--system", "--oidc-", "--id-porten-",
    ]

    @Test func everyFlagTheDocumentsNameExists() async throws {
        var known: Set<String> = []
        for command in [
            ["serve"], ["doctor"], ["purge"], ["stats"], ["user", "add"], ["user", "list"], ["user", "disable"], ["user", "reset-second-factor"],
            ["user", "link-identity"], ["audit", "export"], ["audit", "verify"], ["audit", "checkpoint"], ["audit", "public-key"],
        ] {
            let help = try await SamromProcess.run(command + ["--help"])
            #expect(help.status == 0, "\(command): \(help.error)")
            known.formUnion(Self.flags(in: help.output))
        }
        #expect(known.contains("--privacy-notice-url") && known.contains("--min-free-disk-mb"), "\(known.sorted())")
        let directory = DoctorTests.repositoryRoot.appendingPathComponent("docs/municipality")
        let documents = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".md") }
        #expect(documents.count >= 5)
        for document in documents {
            let text = try String(contentsOf: directory.appendingPathComponent(document), encoding: .utf8)
            for flag in Self.flags(in: text) where !known.contains(flag) && !Self.otherTools.contains(flag) {
                Issue.record("\(document) names \(flag), which samrom does not have")
            }
        }
    }

    static func flags(in text: String) -> Set<String> {
        Set(text.matches(of: /--[a-z][a-z0-9-]*/).map { String($0.output) })
    }
}
