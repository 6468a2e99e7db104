import Foundation
import SamromTestSupport

/// A real SMTP server for one test: aiosmtpd from PyPI (Tests/SMTP/smtp_server.py)
/// on 127.0.0.1, STARTTLS required with the tests' certificate
/// (`TestCertificates`: a CA made with openssl in a temporary directory, and
/// a certificate for localhost and 127.0.0.1). What it receives is written
/// to files in its own temporary directory, read back by `mails` and
/// `events`. `make test` installs it in .build/invitations-venv
/// (scripts/venv.sh).
final class SMTPTestServer: Sendable {
    static let python = LiveServer.repositoryRoot.appendingPathComponent(".build/invitations-venv/bin/python").path

    /// How the server behaves.
    struct Options: Sendable {
        /// Offer STARTTLS and require it; false: no STARTTLS at all.
        var tls = true
        /// The server's certificate and key files; the tests' localhost one unless given.
        var certificate: (certificate: String, key: String)?
        /// Require AUTH with these credentials (over TLS only).
        var credentials: (user: String, password: String)?
        /// RCPT TO this address is answered with 550.
        var refuse: String?
        /// Not SMTP: accept connections and never answer.
        var mute = false
        /// Not aiosmtpd: answer STARTTLS's 220 with a second reply in clear.
        var inject = false
    }

    /// One message the server accepted, as Python's email package read it.
    struct Mail: Decodable {
        var mailFrom: String
        var rcptTos: [String]
        var tls: Bool
        var authenticated: Bool
        var raw: String
        var headers: [[String]]
        var subject: String
        var contentType: String
        var charset: String?
        var transferEncoding: String
        var body: String
        var defects: [String]

        func header(_ name: String) -> String? {
            headers.first { $0.first?.lowercased() == name.lowercased() }?.last
        }
    }

    let child: ChildProcess
    let port: Int
    let directory: URL

    private init(child: ChildProcess, port: Int, directory: URL) {
        self.child = child
        self.port = port
        self.directory = directory
    }

    static func start(_ options: Options = Options()) async throws -> SMTPTestServer {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw TestFailure("no SMTP server at \(python): run `make test` (make invitations-venv)")
        }
        let directory = LiveServer.temporaryDirectory().appendingPathExtension("smtp")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var arguments = [LiveServer.repositoryRoot.appendingPathComponent("Tests/SMTP/smtp_server.py").path, directory.path]
        if options.tls {
            let certificate =
                options.certificate
                ?? (TestCertificates.directory.appendingPathComponent("server.crt").path,
                    TestCertificates.directory.appendingPathComponent("server.key").path)
            arguments += ["--tls", certificate.certificate, certificate.key]
        }
        if let credentials = options.credentials { arguments += ["--auth", credentials.user, credentials.password] }
        if let refuse = options.refuse { arguments += ["--refuse", refuse] }
        if options.mute { arguments.append("--mute") }
        if options.inject { arguments.append("--inject") }
        let child = try ChildProcess(python, arguments, log: directory.appendingPathComponent("server.log"))
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let line = child.log.split(separator: "\n").first(where: { $0.hasPrefix("listening ") }),
                let port = Int(line.dropFirst("listening ".count))
            {
                return SMTPTestServer(child: child, port: port, directory: directory)
            }
            guard child.isRunning else { throw TestFailure("the SMTP server exited: \(child.logTail())") }
            try await Task.sleep(for: .milliseconds(50))
        }
        await child.kill()
        throw TestFailure("the SMTP server did not start: \(child.logTail())")
    }

    /// A certificate and key for `name` only (no IP address), issued by the
    /// tests' CA with openssl, in a temporary directory.
    static func certificate(for name: String) async throws -> (certificate: String, key: String) {
        let directory = LiveServer.temporaryDirectory().appendingPathExtension("smtp-cert")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let ca = TestCertificates.directory
        let script = """
            set -eu
            cd "$1"
            openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout other.key -out other.csr -subj "/CN=$2" 2>/dev/null
            printf 'basicConstraints=critical,CA:FALSE\\nkeyUsage=critical,digitalSignature\\nextendedKeyUsage=serverAuth\\nsubjectAltName=DNS:%s\\n' "$2" > other.ext
            openssl x509 -req -in other.csr -CA "$3/ca.crt" -CAkey "$3/ca.key" -CAcreateserial -CAserial other.srl \\
                -out other.crt -days 2 -extfile other.ext 2>/dev/null
            """
        guard try await Command.run("/bin/sh", ["-c", script, "sh", directory.path, name, ca.path]).status == 0 else { throw TestFailure("openssl could not make a certificate for \(name)") }
        return (directory.appendingPathComponent("other.crt").path, directory.appendingPathComponent("other.key").path)
    }

    func stop() async {
        await child.kill()
        try? FileManager.default.removeItem(at: directory)
    }

    /// A server for `body`, stopped however it ends.
    static func with<T>(_ options: Options = Options(), _ body: (SMTPTestServer) async throws -> T) async throws -> T {
        let server = try await start(options)
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    /// The messages accepted so far, in order.
    var mails: [Mail] {
        get throws {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            let numbers = names.compactMap { name -> Int? in
                guard name.hasPrefix("mail-"), name.hasSuffix(".json") else { return nil }
                return Int(name.dropFirst("mail-".count).dropLast(".json".count))
            }
            return try numbers.sorted().map { number in
                let data = try Data(contentsOf: directory.appendingPathComponent("mail-\(number).json"))
                return try JSONDecoder().decode(Mail.self, from: data)
            }
        }
    }

    /// The commands the server got, by name (EHLO, AUTH, MAIL, RCPT, DATA), in order.
    var events: [String] {
        let text = (try? String(contentsOf: directory.appendingPathComponent("events.log"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init)
    }
}
