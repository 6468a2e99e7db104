import Foundation
import Logging
import NIOCore
import NIOSSL
import SamromStore

/// Where the server's certificate comes from, in order: the files given on
/// the command line; the development certificate made by
/// `Certs/make-dev-certs.sh`; a self-signed one made (once) in the data dir.
public enum TLSSetup {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public enum Source: String, Sendable {
        case configured, development, selfSigned = "self-signed"
    }

    public static func configuration(for configuration: ServerConfiguration, logger: Logger) throws -> (TLSConfiguration, Source) {
        let (certificate, key, source) = try paths(for: configuration, logger: logger)
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
            guard !chain.isEmpty else { throw Failure(description: "no certificate in \(certificate)") }
            let privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
            var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(privateKey))
            tls.minimumTLSVersion = .tlsv12
            tls.maximumTLSVersion = .tlsv13
            // TLS 1.2 only with forward secrecy and AEAD; TLS 1.3's suites are all AEAD.
            tls.cipherSuiteValues = aeadCipherSuites
            tls.applicationProtocols = ["http/1.1"]
            // A peer that vanished never answers close_notify; do not hold its
            // socket (and its seat in a call) for NIOSSL's default 5 s.
            tls.shutdownTimeout = .seconds(1)
            return (tls, source)
        } catch let error as Failure {
            throw error
        } catch {
            throw Failure(description: "cannot load the TLS certificate \(certificate) and key \(key): \(error)")
        }
    }

    /// The TLS 1.2 suites offered: ECDHE key exchange (forward secrecy, no
    /// static RSA) with AES-GCM or ChaCha20-Poly1305 (no CBC, no SHA-1 MAC),
    /// for ECDSA and RSA certificates alike, so a configured RSA certificate
    /// gets the same list. BoringSSL fixes TLS 1.3's suites (all AEAD).
    public static let aeadCipherSuites: [NIOTLSCipher] = [
        .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]

    static func paths(for configuration: ServerConfiguration, logger: Logger) throws -> (String, String, Source) {
        switch (configuration.tlsCertificatePath, configuration.tlsKeyPath) {
        case (let cert?, let key?):
            return (cert, key, .configured)
        case (.some, nil), (nil, .some):
            throw Failure(description: "--tls-cert and --tls-key go together")
        case (nil, nil):
            break
        }
        let fm = FileManager.default
        let devCert = configuration.developmentCertificateDirectory.appendingPathComponent("server.crt").path
        let devKey = configuration.developmentCertificateDirectory.appendingPathComponent("server.key").path
        if fm.isReadableFile(atPath: devCert), fm.isReadableFile(atPath: devKey) {
            return (devCert, devKey, .development)
        }
        let directory = configuration.dataDirectory.appendingPathComponent("tls")
        let cert = directory.appendingPathComponent("self-signed.crt").path
        let key = directory.appendingPathComponent("self-signed.key").path
        if !(fm.isReadableFile(atPath: cert) && fm.isReadableFile(atPath: key)) {
            try makeSelfSigned(certificate: cert, key: key, in: directory)
            logger.notice("made a self-signed certificate in the data directory; browsers will warn")
        }
        return (cert, key, .selfSigned)
    }

    /// Uses the `openssl` command (installed by the set-up) for a P-256
    /// certificate valid for localhost, 127.0.0.1 and ::1.
    static func makeSelfSigned(certificate: String, key: String, in directory: URL) throws {
        try DataDirectory.prepare(directory.deletingLastPathComponent())
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", certificate, "-days", "397", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw Failure(description: "cannot run openssl to make a certificate; install openssl or pass --tls-cert/--tls-key")
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "openssl could not make a certificate in \(directory.path)")
        }
        chmod(key, 0o600)
    }
}
