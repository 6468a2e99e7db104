import CSystemClock
import Foundation
import NIOCore
import NIOSSL
import SamromCore
import SamromStore
import SwiftASN1
import X509

/// `samrom doctor`: gathers the facts of a production set-up (the same
/// configuration `samrom serve` would run with) and lets `SetupRules` judge
/// them. It changes nothing: the data directory's modes are read before the
/// store is opened (opening corrects them), and the TURN allocation it makes
/// is released at once.
public struct Doctor: Sendable {
    public var configuration: ServerConfiguration
    /// Fewer free bytes than this where the data directory is is a problem.
    public var minimumFreeBytes: UInt64 = SetupRules.defaultMinimumFreeBytes
    /// PEM certificates to trust besides the system's when checking the
    /// server's certificate (a municipality's own CA).
    public var extraTrustRootsFile: String?
    /// How long each TURN server has to answer.
    public var turnTimeout: Duration = .seconds(5)

    public init(configuration: ServerConfiguration) {
        self.configuration = configuration
    }

    private var publicHost: String? {
        configuration.publicOrigin.flatMap { URL(string: $0)?.host }
    }

    /// Everything that needs no store: run it before the store is opened.
    public func examineSetup(now: Date = Date()) async -> [DoctorFinding] {
        var findings: [DoctorFinding] = []
        findings += await certificate(now: now)
        findings += dataDirectory()
        findings += SetupRules.publicOrigin(configuration.publicOrigin)
        findings += await turn()
        findings += SetupRules.retention(
            chatDays: Int(configuration.chatRetention / 86_400), auditDays: Int(configuration.auditRetention / 86_400))
        findings += disk()
        return findings
    }

    /// What needs the store: that it answers, and the clocks.
    public func examineStore(_ store: any SamromStorage) async -> [DoctorFinding] {
        var latest: Date?
        var databaseTime: Date?
        let now: Date
        do {
            let count = try await store.auditCount()
            if count > 0 { latest = try await store.auditEntries(from: count - 1, limit: 1).first?.event.at }
            let accounts = try await store.accountCount()
            databaseTime = try await store.databaseTime()
            now = Date()
            let kind = databaseTime == nil ? "the SQLite database" : "PostgreSQL"
            let found = DoctorFinding.ok(.store, "\(kind) answers: \(accounts) account\(accounts == 1 ? "" : "s"), \(count) audit entr\(count == 1 ? "y" : "ies")")
            return [found] + SetupRules.clock(.init(
                now: now, latestAuditEntry: latest, databaseTime: databaseTime, kernelSynchronised: Self.kernelClockSynchronised(),
                homeLease: configuration.homeLease))
        } catch {
            return [.problem(.store, "the store does not answer: \(error)")]
        }
    }

    /// The clock alone, when there is no store to compare it with.
    public func examineClock(now: Date = Date()) -> [DoctorFinding] {
        SetupRules.clock(.init(
            now: now, latestAuditEntry: nil, databaseTime: nil, kernelSynchronised: Self.kernelClockSynchronised(),
            homeLease: configuration.homeLease))
    }

    // MARK: The certificate

    func certificate(now: Date) async -> [DoctorFinding] {
        guard let certificatePath = configuration.tlsCertificatePath, let keyPath = configuration.tlsKeyPath else {
            return SetupRules.certificate(nil, publicHost: publicHost, now: now)
        }
        do {
            let facts = try await Self.certificateFacts(
                certificate: certificatePath, key: keyPath, host: publicHost ?? "localhost", extraRoots: extraTrustRootsFile, now: now)
            return SetupRules.certificate(facts, publicHost: publicHost, now: now)
        } catch let failure as DoctorFailure {
            return [.problem(.certificate, failure.description)]
        } catch {
            return [.problem(.certificate, "cannot read the certificate or key: \(error)")]
        }
    }

    struct DoctorFailure: Error, CustomStringConvertible {
        let description: String
    }

    /// Reads the chain and key, lists the names, and verifies the chain the
    /// way a browser would (swift-certificates' RFC 5280 and server identity
    /// policies) against the system's roots. Verified inside the validity
    /// period, so an expired certificate is reported once, by its dates.
    static func certificateFacts(certificate: String, key: String, host: String, extraRoots: String?, now: Date) async throws
        -> SetupRules.CertificateFacts
    {
        let chain: [Certificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificate).map { try Certificate(derEncoded: try $0.toDERBytes()) }
        } catch {
            throw DoctorFailure(description: "cannot read --tls-cert \(certificate) as a PEM certificate chain")
        }
        guard let leaf = chain.first else { throw DoctorFailure(description: "--tls-cert \(certificate) holds no certificate") }
        let privateKey: Certificate.PrivateKey
        do {
            privateKey = try Certificate.PrivateKey(pemEncoded: try String(contentsOfFile: key, encoding: .utf8))
        } catch {
            throw DoctorFailure(description: "cannot read --tls-key \(key) as a PEM private key")
        }
        var names: [String] = []
        for name in (try? leaf.extensions.subjectAlternativeNames) ?? SubjectAlternativeNames() {
            switch name {
            case .dnsName(let dns): names.append(dns)
            case .ipAddress(let bytes):
                if let address = try? SocketAddress(packedIPAddress: ByteBuffer(bytes: bytes.bytes), port: 0).ipAddress { names.append(address) }
            default: break
            }
        }
        var roots = CertificateStore.systemTrustRoots
        if let extraRoots {
            do {
                roots.append(contentsOf: try NIOSSLCertificate.fromPEMFile(extraRoots).map { try Certificate(derEncoded: try $0.toDERBytes()) })
            } catch {
                throw DoctorFailure(description: "cannot read --trust-ca-file \(extraRoots) as PEM certificates")
            }
        }
        // Trust and names apart, so each is said in words: the chain with
        // RFC 5280 alone; the names with the leaf as its own root.
        let checkedAt = min(max(now, leaf.notValidBefore), leaf.notValidAfter.addingTimeInterval(-1))
        var chainVerifier = Verifier(rootCertificates: roots) { RFC5280Policy(validationTime: checkedAt) }
        let trustProblem: String?
        switch await chainVerifier.validate(leaf: leaf, intermediates: CertificateStore(chain.dropFirst())) {
        case .validCertificate:
            trustProblem = nil
        case .couldNotValidate(let failures):
            trustProblem = failures.isEmpty ? "it does not chain to a root this machine trusts" : "\(failures[0].policyFailureReason)"
        }
        let isAddress = host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
        var nameVerifier = Verifier(rootCertificates: CertificateStore([leaf])) {
            NamesOnly(leaf: leaf)
            ServerIdentityPolicy(serverHostname: isAddress ? nil : host, serverIP: isAddress ? host : nil)
        }
        let nameMatches: Bool
        if case .validCertificate = await nameVerifier.validate(leaf: leaf, intermediates: CertificateStore()) {
            nameMatches = true
        } else {
            nameMatches = false
        }
        return SetupRules.CertificateFacts(
            notBefore: leaf.notValidBefore, notAfter: leaf.notValidAfter, names: names,
            keyMatches: privateKey.publicKey == leaf.publicKey, nameMatches: nameMatches, trustProblem: trustProblem)
    }

    /// With the leaf as its own root, only its names are judged: this lets
    /// through the leaf's other critical extensions (key usage, basic
    /// constraints), which the chain check above has judged already.
    struct NamesOnly: VerifierPolicy {
        let verifyingCriticalExtensions: [ASN1ObjectIdentifier]

        init(leaf: Certificate) {
            verifyingCriticalExtensions = leaf.extensions.filter(\.critical).map(\.oid)
        }

        mutating func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
            .meetsPolicy
        }
    }

    // MARK: Files and disk

    func dataDirectory() -> [DoctorFinding] {
        let path = configuration.dataDirectory.path
        guard FileManager.default.fileExists(atPath: path) else {
            return SetupRules.dataDirectory(path, wrong: nil, user: geteuid())
        }
        do {
            return SetupRules.dataDirectory(path, wrong: try DataDirectory.inspect(configuration.dataDirectory), user: geteuid())
        } catch {
            return [.problem(.dataDirectory, "cannot inspect \(path): \(error)")]
        }
    }

    func disk() -> [DoctorFinding] {
        // Where the data directory is, or would be made.
        var url = configuration.dataDirectory.standardizedFileURL
        while !FileManager.default.fileExists(atPath: url.path), url.pathComponents.count > 1 { url.deleteLastPathComponent() }
        var info = statvfs()
        guard statvfs(url.path, &info) == 0 else {
            return [.problem(.disk, "cannot read the free space where \(url.path) is: \(String(cString: strerror(errno)))")]
        }
        let unit = UInt64(info.f_frsize)
        return SetupRules.disk(
            path: configuration.dataDirectory.path, free: UInt64(info.f_bavail) * unit, total: UInt64(info.f_blocks) * unit,
            minimumFree: minimumFreeBytes)
    }

    // MARK: TURN

    func turn() async -> [DoctorFinding] {
        let urls = configuration.turnURLs
        guard !urls.isEmpty else { return SetupRules.turn([], relayOnly: false) }
        // The server's own reading of the flags and the secret file.
        let provider: IceServerProvider
        do {
            provider = try SamromApp.iceServers(configuration)
        } catch {
            return [.problem(.turn, "\(error)")]
        }
        guard let secret = provider.secret else { return [.problem(.turn, "no TURN secret")] }
        var lines: [(url: String, allocated: Bool, reason: String)] = []
        for url in urls {
            let outcome = await TurnProbe.probe(url: url, secret: secret, timeout: turnTimeout, caFile: extraTrustRootsFile)
            if case .allocated = outcome {
                lines.append((url, true, ""))
            } else {
                lines.append((url, false, outcome.description))
            }
        }
        return SetupRules.turn(lines, relayOnly: configuration.iceTransportPolicy == .relay)
    }

    // MARK: The kernel's clock

    /// What the kernel says of NTP synchronisation (`adjtimex`, read only):
    /// TIME_ERROR means unsynchronised. nil where it cannot be asked.
    static func kernelClockSynchronised() -> Bool? {
        var state = timex()
        let result = adjtimex(&state)
        guard result >= 0 else { return nil }
        return result != TIME_ERROR
    }
}
