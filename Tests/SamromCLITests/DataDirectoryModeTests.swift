import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SamromTestSupport
import Testing

/// Issue 13, point 10: the data directory stays private whatever was done
/// to it between starts; an exposed signing key stops everything; a
/// password typed at a terminal is not shown. Point 12's flags are checked.
@Suite struct DataDirectoryModeTests {
    static func mode(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int
    }

    static func setMode(_ path: String, _ mode: Int) throws {
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    /// `samrom serve` as a process, stopped after `seconds` if it has not exited by itself.
    static func serveUntilExit(_ arguments: [String], seconds: Double) async throws -> (status: Int32?, error: String) {
        let process = Process()
        process.executableURL = SamromProcess.binary
        process.arguments = arguments
        let stderr = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = stderr
        try process.run()
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        let exited = !process.isRunning
        if !exited {
            process.terminate()
            process.waitUntilExit()
        }
        return (exited ? process.terminationStatus : nil, String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    @Test func modesAreCorrectedOnEveryStartAndNewFilesAreBornPrivate() async throws {
        try await SamromProcess.withDataDirectory { data in
            let added = try await SamromProcess.run(["user", "add", "--username", "kari", "--role", "veileder", "--data-dir", data], input: "a long passphrase\n")
            try #require(added.status == 0, "\(added.error)")
            // serve makes the self-signed certificate: openssl writes it under the
            // process's umask, which is 077 whatever the caller's was.
            let server = try await SamromProcess.serve(dataDirectory: data)
            #expect(Self.mode(data + "/tls/self-signed.crt") == 0o600)
            #expect(Self.mode(data + "/tls/self-signed.key") == 0o600)
            #expect(Self.mode(data + "/samrom.sqlite-wal") == 0o600)
            await server.stop()

            func loosen() throws {
                try Self.setMode(data, 0o755)
                try Self.setMode(data + "/samrom.sqlite", 0o644)
                try Self.setMode(data + "/tls", 0o755)
                try Self.setMode(data + "/tls/self-signed.key", 0o644)
                try Self.setMode(data + "/tls/self-signed.crt", 0o664)
                FileManager.default.createFile(atPath: data + "/notes.txt", contents: Data("x".utf8), attributes: [.posixPermissions: 0o666])
            }
            func expectPrivate(after command: String) {
                #expect(Self.mode(data) == 0o700, "\(command)")
                #expect(Self.mode(data + "/samrom.sqlite") == 0o600, "\(command)")
                #expect(Self.mode(data + "/tls") == 0o700, "\(command)")
                #expect(Self.mode(data + "/tls/self-signed.key") == 0o600, "\(command)")
                #expect(Self.mode(data + "/tls/self-signed.crt") == 0o600, "\(command)")
                #expect(Self.mode(data + "/notes.txt") == 0o600, "\(command)")
                #expect(Self.mode(data + "/audit-signing.key") == 0o600, "\(command)")
            }

            // A CLI command that opens the data directory corrects it...
            try loosen()
            #expect(try await SamromProcess.run(["user", "list", "--data-dir", data]).status == 0)
            expectPrivate(after: "user list")
            try loosen()
            #expect(try await SamromProcess.run(["audit", "export", "--data-dir", data]).status == 0)
            expectPrivate(after: "audit export")

            // ...and so does serve.
            try loosen()
            let again = try await SamromProcess.serve(dataDirectory: data)
            expectPrivate(after: "serve")
            await again.stop()
        }
    }

    @Test func anAuditSigningKeyOthersCouldReadIsRefused() async throws {
        try await SamromProcess.withDataDirectory { data in
            let added = try await SamromProcess.run(["user", "add", "--username", "kari", "--role", "veileder", "--data-dir", data], input: "a long passphrase\n")
            try #require(added.status == 0, "\(added.error)")
            let key = data + "/audit-signing.key"
            for mode in [0o644, 0o640, 0o604] {
                try Self.setMode(key, mode)
                let serve = try await Self.serveUntilExit(
                    ["serve", "--port", "0", "--data-dir", data, "--certs-dir", data + "/none", "--log-level", "critical"], seconds: 20)
                #expect(serve.status != nil && serve.status != 0, "serve ran with a key of mode \(String(mode, radix: 8))")
                #expect(serve.error.contains("audit-signing.key") && serve.error.contains("group or others"), "\(serve.error)")
                // Nothing was started: no certificate was made.
                #expect(!FileManager.default.fileExists(atPath: data + "/tls"))
                // The key stays as it was: refused, not quietly corrected.
                #expect(Self.mode(key) == mode)
                for command in [["user", "list"], ["audit", "verify"], ["audit", "public-key"]] {
                    let run = try await SamromProcess.run(command + ["--data-dir", data])
                    #expect(run.status != 0, "\(command) ran")
                    #expect(run.error.contains("group or others"), "\(command): \(run.error)")
                }
            }
            try Self.setMode(key, 0o600)
            #expect(try await SamromProcess.run(["user", "list", "--data-dir", data]).status == 0)
        }
    }

    /// A pseudo-terminal (Python's pty module) plays the administrator.
    static let terminalScript = #"""
        import json, os, pty, select, signal, sys, termios, time
        binary, data, mode = sys.argv[1], sys.argv[2], sys.argv[3]
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(binary, [binary, "user", "add", "--username", "kari", "--role", "veileder", "--data-dir", data])
        seen = b""
        def read_until(marker, timeout):
            global seen
            end = time.time() + timeout
            while marker not in seen and time.time() < end:
                ready, _, _ = select.select([fd], [], [], 0.1)
                if ready:
                    try:
                        chunk = os.read(fd, 4096)
                    except OSError:
                        return False
                    if not chunk:
                        return False
                    seen += chunk
            return marker in seen
        prompted = read_until(b"(not shown): ", 30)
        echo_during = bool(termios.tcgetattr(fd)[3] & termios.ECHO)
        if mode == "interrupt":
            os.write(fd, b"half a pass")
            time.sleep(0.3)
            os.kill(pid, signal.SIGINT)
        else:
            os.write(fd, b"typed at a terminal\n")
            read_until(b"again: ", 10)
            os.write(fd, b"typed at a terminal\n")
            read_until(b"Added kari", 60)
        _, status = os.waitpid(pid, 0)
        read_until(b"\x00", 0.3)
        echo_after = bool(termios.tcgetattr(fd)[3] & termios.ECHO)
        print(json.dumps({"prompted": prompted, "echo_during": echo_during, "echo_after": echo_after,
                          "status": status, "seen": seen.decode("utf-8", "replace")}))
        """#

    /// Runs `script` (the terminal script, or a variation of it) in `mode`; what it printed.
    static func runAtTerminal(data: String, mode: String, script: String = terminalScript) async throws -> [String: Any] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("samrom-pty-\(UUID().uuidString).py")
        try Data(script.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let run = try await Command.run("/usr/bin/env", ["python3", file.path, SamromProcess.binary.path, data, mode])
        return try #require(try JSONSerialization.jsonObject(with: run.data) as? [String: Any], "\(run.output)\(run.error)")
    }

    @Test func userAddAtATerminalAsksTwiceWithoutEchoAndTheTypedPasswordLogsIn() async throws {
        try await SamromProcess.withDataDirectory { data in
            // Interrupted at the prompt: the terminal gets its echo back.
            let interrupted = try await Self.runAtTerminal(data: data, mode: "interrupt")
            #expect(interrupted["prompted"] as? Bool == true, "\(interrupted)")
            #expect(interrupted["echo_during"] as? Bool == false)
            #expect(interrupted["echo_after"] as? Bool == true)
            #expect((interrupted["seen"] as? String)?.contains("half a pass") == false)

            let result = try await Self.runAtTerminal(data: data, mode: "type")
            let seen = try #require(result["seen"] as? String)
            #expect(result["prompted"] as? Bool == true, "\(seen)")
            #expect(result["echo_during"] as? Bool == false)
            #expect(result["echo_after"] as? Bool == true)
            #expect(result["status"] as? Int == 0, "\(seen)")
            #expect(seen.contains("Added kari"))
            #expect(!seen.contains("typed at a terminal"), "the password was echoed: \(seen)")

            // What was typed is the password.
            let server = try await SamromProcess.serve(dataDirectory: data)
            defer { server.terminate() }
            #expect(try await ServerRequest.login(server, "kari", "typed at a terminal").status == 204)
        }
    }

    @Test func twoDifferentPasswordsAtATerminalChangeNothing() async throws {
        try await SamromProcess.withDataDirectory { data in
            let script = Self.terminalScript.replacingOccurrences(
                of: #"os.write(fd, b"typed at a terminal\n")\#n    read_until(b"Added kari", 60)"#,
                with: #"os.write(fd, b"something else\n")\#n    read_until(b"differ", 60)"#)
            #expect(script != Self.terminalScript)
            let result = try await Self.runAtTerminal(data: data, mode: "type", script: script)
            #expect(result["status"] as? Int != 0)
            #expect((result["seen"] as? String)?.contains("differ") == true, "\(result)")
            #expect(result["echo_after"] as? Bool == true)
            #expect(try await SamromProcess.run(["user", "list", "--data-dir", data]).output.contains("No accounts"))
        }
    }

    @Test func connectionFlagsRefuseBadValuesClearly() async throws {
        try await SamromProcess.withDataDirectory { data in
            let cases: [([String], String)] = [
                (["--request-head-timeout", "0"], "--request-head-timeout"),
                (["--request-head-timeout", "abc"], "request-head-timeout"),
                (["--hello-timeout", "0"], "--hello-timeout"),
                (["--hello-timeout", "121"], "--hello-timeout"),
                (["--totp-issuer", "Kommune: Frisklivssentralen"], "--totp-issuer"),
                (["--totp-issuer", ""], "--totp-issuer"),
                (["--oidc-issuer", "https://id.example"], "--oidc-issuer, --oidc-client-id and --oidc-client-secret-file"),
                (["--oidc-name", "Testby ID"], "--oidc-issuer"),
                (["--oidc-issuer", "http://id.example", "--oidc-client-id", "samrom", "--oidc-client-secret-file", "/dev/null"], "https"),
                (["--oidc-issuer", "https://id.example", "--oidc-client-id", "two words", "--oidc-client-secret-file", "/dev/null"], "client id"),
                (["--oidc-issuer", "https://id.example", "--oidc-client-id", "samrom", "--oidc-client-secret-file", data + "/missing"],
                 "client secret file"),
                (["--max-connections-per-address", "0"], "--max-connections-per-address"),
                (["--max-connections-per-address", "-5"], "max-connections-per-address"),
                (["--metrics-token-file", data + "/no-such-file"], "--metrics-token-file"),
                (["--lobby-opens-minutes", "-1"], "--lobby-opens-minutes"),
                (["--lobby-opens-minutes", "1441"], "--lobby-opens-minutes"),
                (["--time-zone", "Europe/Testby"], "--time-zone"),
                (["--smtp-host", "smtp.testby.kommune.no"], "--smtp-host and --smtp-from go together"),
                (["--smtp-from", "post@testby.kommune.no"], "--smtp-host and --smtp-from go together"),
                (["--smtp-ca-file", "/dev/null"], "--smtp-ca-file needs --smtp-host"),
                (["--smtp-host", "smtp.testby.kommune.no", "--smtp-from", "not an address"], "--smtp-from"),
                (["--smtp-host", "smtp host", "--smtp-from", "post@testby.kommune.no"], "--smtp-host"),
                (["--smtp-host", "smtp.testby.kommune.no", "--smtp-from", "post@testby.kommune.no", "--smtp-port", "70000"], "--smtp-port"),
                (["--smtp-host", "smtp.testby.kommune.no", "--smtp-from", "post@testby.kommune.no", "--smtp-username", "samrom"],
                 "--smtp-username and --smtp-password-file"),
                (["--smtp-host", "smtp.testby.kommune.no", "--smtp-from", "post@testby.kommune.no", "--smtp-username", "samrom",
                  "--smtp-password-file", data + "/missing"], "--smtp-password-file"),
                (["--smtp-host", "smtp.testby.kommune.no", "--smtp-from", "post@testby.kommune.no", "--smtp-ca-file", data + "/missing"],
                 "--smtp-ca-file"),
            ]
            for (flags, mentioned) in cases {
                let run = try await SamromProcess.run(["serve", "--port", "0", "--data-dir", data] + flags)
                #expect(run.status != 0, "\(flags)")
                #expect(run.error.contains(mentioned), "\(flags): \(run.error)")
                #expect(!run.error.contains("Fatal error"), "\(flags)")
            }
        }
    }
}
