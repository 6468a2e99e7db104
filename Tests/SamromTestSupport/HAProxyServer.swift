import Foundation
import NIOSSL

#if canImport(Glibc)
    // socket and connect, to see that HAProxy listens.
    import Glibc
#endif

/// A self-signed certificate for `localhost` and 127.0.0.1, made with
/// `openssl req -x509`: the same one for the `samrom serve` instances
/// (`--tls-cert`, `--tls-key`), for HAProxy's frontend (`combined`) and as
/// the CA HAProxy verifies the instances with (`certificate`).
public struct TestCertificate: Sendable {
    /// The certificate (PEM).
    public let certificate: String
    /// Its private key (PEM, unencrypted, 0600).
    public let key: String
    /// Certificate and key in one PEM file, as HAProxy's `crt` wants it.
    public let combined: String

    /// A client configuration that trusts exactly this certificate.
    public var tls: TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(certificate)
        return tls
    }

    /// Makes the files in `directory` (which must exist): `tls.crt`, `tls.key`, `haproxy.pem`.
    public static func make(in directory: URL) async throws -> TestCertificate {
        let certificate = directory.appendingPathComponent("tls.crt").path
        let key = directory.appendingPathComponent("tls.key").path
        let combined = directory.appendingPathComponent("haproxy.pem").path
        let made = try await Command.run("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", key, "-out", certificate,
        ])
        guard made.status == 0, let cert = FileManager.default.contents(atPath: certificate),
            let keyBytes = FileManager.default.contents(atPath: key)
        else {
            throw TestFailure("openssl req -x509 failed: \(made.error)")
        }
        try (cert + keyBytes).write(to: URL(fileURLWithPath: combined))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: key)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: combined)
        return TestCertificate(certificate: certificate, key: key, combined: combined)
    }
}

/// HAProxy 2.6 (Debian's package) with the repository's own
/// `deploy/haproxy.cfg`, in the foreground (`-db`) on a free port of
/// 127.0.0.1, in front of the instances `samrom-a` and `samrom-b`. A
/// watchdog kills it if the test process dies first (`ChildProcess`).
public final class HAProxyServer: Sendable {
    public let port: Int
    public let child: ChildProcess

    private init(port: Int, child: ChildProcess) {
        self.port = port
        self.child = child
    }

    /// `deploy/haproxy.cfg` of this repository: found upwards from this
    /// source file, else from the current directory or the test binary.
    public static let configuration: URL = {
        let starts = [
            URL(fileURLWithPath: #filePath).deletingLastPathComponent(),
            URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
        ]
        for start in starts {
            var directory = start
            for _ in 0..<8 {
                let candidate = directory.appendingPathComponent("deploy/haproxy.cfg")
                if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
                directory.deleteLastPathComponent()
            }
        }
        fatalError("deploy/haproxy.cfg not found above \(#filePath)")
    }()

    public static var binary: String { ProcessInfo.processInfo.environment["SAMROM_HAPROXY_BIN"] ?? "/usr/sbin/haproxy" }

    /// Starts HAProxy in front of `a` and `b` (`host:port` each), serving
    /// and verifying with `certificate`, its log in `log`. Returns once it
    /// accepts connections.
    public static func start(a: String, b: String, certificate: TestCertificate, log: URL) async throws -> HAProxyServer {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw TestFailure("HAProxy is not installed at \(binary): apt-get install haproxy")
        }
        // A free port is free only until someone takes it: try again on another.
        var lastFailure = ""
        for _ in 0..<5 {
            let port = try PostgresServer.freePort()
            let environment = [
                "SAMROM_HAPROXY_BIND": "127.0.0.1:\(port)",
                "SAMROM_HAPROXY_CERT": certificate.combined,
                "SAMROM_A": a,
                "SAMROM_B": b,
                "SAMROM_BACKEND_CA": certificate.certificate,
                "SAMROM_BACKEND_SNI": "localhost",
                // No chroot, no privilege drop, the log on standard output.
                "SAMROM_HAPROXY_UNPRIVILEGED": "1",
            ]
            let child = try ChildProcess(binary, ["-db", "-f", configuration.path], environment: environment, log: log)
            let deadline = ContinuousClock.now + .seconds(15)
            while ContinuousClock.now < deadline, child.isRunning {
                if accepts(port: port) { return HAProxyServer(port: port, child: child) }
                try await Task.sleep(for: .milliseconds(20))
            }
            lastFailure = child.logTail()
            await child.kill()
        }
        throw TestFailure("HAProxy did not start: \(lastFailure)")
    }

    /// What HAProxy logged (one line per request, server state changes).
    public var log: String { child.log }

    /// Terminates it and waits until it is gone.
    public func stop() async { await child.stop(grace: .seconds(5)) }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
