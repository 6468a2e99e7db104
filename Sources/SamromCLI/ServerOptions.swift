import ArgumentParser
import Foundation
import NIOCore
import SamromCore
import SamromServer
import Sodium

/// Every flag that says how the server runs: `samrom serve` starts with
/// them and `samrom doctor` checks them, so an operator gives both the same
/// command line. The one place a flag is read, checked and turned into a
/// `ServerConfiguration`.
struct ServerOptions: ParsableArguments {
    @Option(help: "Address to listen on.") var host: String = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one).") var port: Int = 8443
    @OptionGroup var data: DataOptions
    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain.") var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "PEM private key.") var tlsKey: String?
    @Option(name: .customLong("turn-url"), help: "A TURN server URL (turn: or turns:); repeat for several.")
    var turnURLs: [String] = []
    @Option(name: .customLong("turn-secret-file"), help: "File holding coturn's static-auth-secret.")
    var turnSecretFile: String?
    @Option(name: .customLong("ice-transport-policy"),
            help: "all (default) or relay: media only through the TURN relay, so participants never learn each other's IP address.")
    var iceTransportPolicy: String = "all"
    @Option(name: .customLong("public-origin"), help: "The origin people use, e.g. https://samrom.example.no (join links and Origin checks).")
    var publicOrigin: String?
    @Option(name: .customLong("web-root"), help: "The browser client's directory.") var webRoot: String = "Web"
    @Option(name: .customLong("certs-dir"), help: "Where Certs/make-dev-certs.sh put the development certificate.")
    var certsDirectory: String = "Certs/out"
    @Option(name: .customLong("audit-origin"), help: "The audit log's name in checkpoints (a schema-less URL); fixed when its key is first made.")
    var auditOrigin: String?
    @OptionGroup var retention: RetentionOptions
    @Option(name: .customLong("privacy-notice-url"),
            help: "The municipality's privacy notice (https), linked before joining and in every page's footer.")
    var privacyNoticeURL: String?
    @Option(name: .customLong("accessibility-statement-url"),
            help: "The accessibility statement (https, e.g. on uustatus.no), linked in every page's footer.")
    var accessibilityStatementURL: String?
    @Option(name: .customLong("message-rate"), help: "Signalling messages per second each connection may send, sustained (default 30).")
    var messageRate: Double = ServerConfiguration().messagesPerSecond
    @Option(name: .customLong("message-burst"), help: "Signalling messages a connection may send at once above the rate (default 120).")
    var messageBurst: Double = ServerConfiguration().messageBurst
    // Connections (issue 13)
    @Option(name: .customLong("request-head-timeout"),
            help: "Seconds a connection has for its TLS handshake and each request's headers (default 10).")
    var requestHeadTimeout: Int = Int(ServerConfiguration().requestHeadTimeout.components.seconds)
    @Option(name: .customLong("hello-timeout"),
            help: "Seconds a WebSocket has after its upgrade to send its hello (default 5).")
    var helloTimeout: Int = Int(ServerConfiguration().helloTimeout.components.seconds)
    @Option(name: .customLong("max-connections-per-address"),
            help: "Connections open at once from one IP address (default 200: staff may share one NAT address).")
    var maxConnectionsPerAddress: Int = ServerConfiguration().maxConnectionsPerAddress
    @Option(name: .customLong("metrics-token-file"),
            help: "File holding a bearer token (32+ characters) that lets other hosts read /metrics; without it, loopback only.")
    var metricsTokenFile: String?
    // Several instances on one store (issue 14)
    @Option(name: .customLong("instance-name"),
            help: "This instance's name behind the load balancer (its HAProxy server name); join links then carry a route key.")
    var instanceName: String?
    @Option(name: .customLong("home-lease"),
            help: "Seconds a call's home is leased to its instance; a survivor takes a dead instance's calls after it (default 10).")
    var homeLease: Int = Int(ServerConfiguration().homeLease)
    @Option(name: .customLong("trusted-proxy"),
            help: "A reverse proxy's IP address whose X-Forwarded-For names the client (HAProxy in front); repeat for several.")
    var trustedProxies: [String] = []
    // Identity (issue 15)
    @Flag(name: .customLong("require-second-factor"),
          help: "No session without a TOTP second factor: an account without one sets it up at its next login.")
    var requireSecondFactor = false
    @Option(name: .customLong("totp-issuer"), help: "The name authenticator apps show beside the account (default: the public origin's host).")
    var totpIssuer: String?
    @Option(name: .customLong("oidc-issuer"), help: "Staff log in with this OpenID Connect provider (its issuer URL, https).")
    var oidcIssuer: String?
    @Option(name: .customLong("oidc-client-id"), help: "Samrom's client id at the provider.") var oidcClientID: String?
    @Option(name: .customLong("oidc-client-secret-file"), help: "File holding the client secret.") var oidcClientSecretFile: String?
    @Option(name: .customLong("oidc-claim"),
            help: "The ID token claim matched to a local account's linked identity (default email; `samrom user link-identity`).")
    var oidcClaim: String = "email"
    @Option(name: .customLong("oidc-scope"), help: "A scope to ask for; repeat for several (default: openid email).")
    var oidcScopes: [String] = []
    @Option(name: .customLong("oidc-name"), help: "The provider's name on the login button (default: the issuer's host).")
    var oidcName: String?
    @Option(name: .customLong("oidc-ca-file"), help: "PEM CA certificates to trust for the provider besides the system's.")
    var oidcCAFile: String?
    @Option(name: .customLong("id-porten-issuer"),
            help: "Offer deltakere 'Logg inn med ID-porten' before knocking (the issuer URL, e.g. https://idporten.no); high level only.")
    var idPortenIssuer: String?
    @Option(name: .customLong("id-porten-client-id"), help: "Samrom's client id at ID-porten.") var idPortenClientID: String?
    @Option(name: .customLong("id-porten-client-secret-file"), help: "File holding the ID-porten client secret.")
    var idPortenClientSecretFile: String?
    @Option(name: .customLong("id-porten-ca-file"), help: "PEM CA certificates to trust for ID-porten besides the system's.")
    var idPortenCAFile: String?
    @Flag(name: .customLong("no-audit-signing"),
          help: "Never sign audit checkpoints and need no signing key (several instances on one store: at least one signs).")
    var noAuditSigning = false

    @Option(name: .customLong("lobby-opens-minutes"),
            help: "How many minutes before a booked time its links may knock (default 15).")
    var lobbyOpensMinutes: Int = Booking.defaultLobbyWindowMinutes
    @Option(name: .customLong("time-zone"), help: "The centre's time zone, for invitations and monthly figures (default Europe/Oslo).")
    var timeZone: String = "Europe/Oslo"
    @Option(name: .customLong("smtp-host"), help: "Send invitations by e-mail through this SMTP server (STARTTLS required).")
    var smtpHost: String?
    @Option(name: .customLong("smtp-port"), help: "The SMTP server's submission port (default 587).") var smtpPort: Int = 587
    @Option(name: .customLong("smtp-from"), help: "The sender address of invitations, e.g. frisklivssentralen@kommune.no.")
    var smtpFrom: String?
    @Option(name: .customLong("smtp-username"), help: "Log in to the SMTP server as this user (with --smtp-password-file).")
    var smtpUsername: String?
    @Option(name: .customLong("smtp-password-file"), help: "File holding the SMTP password.") var smtpPasswordFile: String?
    @Option(name: .customLong("smtp-ca-file"), help: "PEM CA certificates the SMTP server's certificate must chain to (default: the system's).")
    var smtpCAFile: String?

    /// A group of flags that work only together: all of `required` or
    /// none, and the `optional` ones only with them. True when given.
    static func allOrNone(_ required: [(flag: String, value: String?)], optional: [(flag: String, given: Bool)]) throws -> Bool {
        if required.allSatisfy({ $0.value == nil }) {
            if let stray = optional.first(where: \.given) { throw ValidationError("\(stray.flag) needs \(required[0].flag)") }
            return false
        }
        guard required.allSatisfy({ $0.value != nil }) else {
            let flags = required.map(\.flag)
            throw ValidationError(flags.dropLast().joined(separator: ", ") + " and " + flags.last! + " go together")
        }
        return true
    }

    /// The `--oidc-*` flags: all of issuer, client id and secret file, or none.
    func openIDSettings() throws -> OpenIDSettings? {
        guard try Self.allOrNone(
            [("--oidc-issuer", oidcIssuer), ("--oidc-client-id", oidcClientID), ("--oidc-client-secret-file", oidcClientSecretFile)],
            optional: [("--oidc-name", oidcName != nil), ("--oidc-ca-file", oidcCAFile != nil), ("--oidc-scope", !oidcScopes.isEmpty)]),
            let issuer = oidcIssuer, let clientID = oidcClientID, let secretFile = oidcClientSecretFile
        else { return nil }
        return OpenIDSettings(
            issuer: issuer, clientID: clientID, clientSecretFile: secretFile, claim: oidcClaim,
            scopes: oidcScopes.isEmpty ? ["openid", oidcClaim == "email" ? "email" : "profile"] : oidcScopes,
            displayName: oidcName ?? URL(string: issuer)?.host ?? issuer, caFile: oidcCAFile)
    }

    /// The `--id-porten-*` flags: all of issuer, client id and secret file, or none.
    func idPortenSettings() throws -> OpenIDSettings? {
        guard try Self.allOrNone(
            [("--id-porten-issuer", idPortenIssuer), ("--id-porten-client-id", idPortenClientID),
             ("--id-porten-client-secret-file", idPortenClientSecretFile)],
            optional: [("--id-porten-ca-file", idPortenCAFile != nil)]),
            let issuer = idPortenIssuer, let clientID = idPortenClientID, let secretFile = idPortenClientSecretFile
        else { return nil }
        return OpenIDSettings(
            issuer: issuer, clientID: clientID, clientSecretFile: secretFile, claim: "sub", scopes: ["openid"],
            requiredACR: VerifiedIdentity.requiredACR, displayName: "ID-porten", caFile: idPortenCAFile)
    }

    /// The `--smtp-*` flags: host and sender together, the rest only with them.
    func smtpSettings() throws -> SMTPSettings? {
        guard try Self.allOrNone(
            [("--smtp-host", smtpHost), ("--smtp-from", smtpFrom)],
            optional: [
                ("--smtp-username", smtpUsername != nil), ("--smtp-password-file", smtpPasswordFile != nil),
                ("--smtp-ca-file", smtpCAFile != nil), ("--smtp-port", smtpPort != 587),
            ]),
            let host = smtpHost, let from = smtpFrom
        else { return nil }
        guard !host.isEmpty, host.utf8.count <= 253, !host.contains(where: { $0.isWhitespace || $0 == "/" }) else {
            throw ValidationError("--smtp-host must be a host name or IP address")
        }
        guard (1...65535).contains(smtpPort) else { throw ValidationError("--smtp-port must be 1 to 65535") }
        guard OutgoingMail.isPlausibleAddress(from) else { throw ValidationError("--smtp-from must be one e-mail address") }
        guard (smtpUsername == nil) == (smtpPasswordFile == nil) else {
            throw ValidationError("--smtp-username and --smtp-password-file go together")
        }
        var password: String?
        if let smtpPasswordFile {
            guard let data = FileManager.default.contents(atPath: smtpPasswordFile) else {
                throw ValidationError("cannot read --smtp-password-file \(smtpPasswordFile)")
            }
            password = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
            guard password?.isEmpty == false else { throw ValidationError("--smtp-password-file is empty") }
        }
        if let smtpCAFile, !FileManager.default.isReadableFile(atPath: smtpCAFile) {
            throw ValidationError("cannot read --smtp-ca-file \(smtpCAFile)")
        }
        let helo = publicOrigin.flatMap { URL(string: $0)?.host } ?? "localhost"
        return SMTPSettings(
            host: host, port: smtpPort, from: from, username: smtpUsername, password: password, heloName: helo,
            trustRoots: smtpCAFile.map { .caFile($0) } ?? .system)
    }

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        if !turnURLs.isEmpty && turnSecretFile == nil { throw ValidationError("--turn-url needs --turn-secret-file") }
        guard let policy = IceTransportPolicy(rawValue: iceTransportPolicy) else {
            throw ValidationError("--ice-transport-policy must be all or relay, not \(iceTransportPolicy)")
        }
        if policy == .relay && turnURLs.isEmpty {
            throw ValidationError("--ice-transport-policy relay needs a TURN server: add --turn-url and --turn-secret-file")
        }
        for (flag, link) in [("--privacy-notice-url", privacyNoticeURL), ("--accessibility-statement-url", accessibilityStatementURL)] {
            if let link, !PrivacyFacts.isValidLink(link) {
                throw ValidationError("\(flag) must be an https:// address of at most 512 characters")
            }
        }
        guard messageRate.isFinite, (1...1_000_000).contains(messageRate) else { throw ValidationError("--message-rate must be 1 to 1000000") }
        guard messageBurst.isFinite, (1...1_000_000).contains(messageBurst) else { throw ValidationError("--message-burst must be 1 to 1000000") }
        if let auditOrigin, auditOrigin.isEmpty || auditOrigin.contains("+") || auditOrigin.contains(where: \.isWhitespace) {
            throw ValidationError("--audit-origin must be a schema-less URL without spaces or '+', e.g. samrom.kommune.no/audit")
        }
        if let publicOrigin, !(publicOrigin.hasPrefix("https://") && publicOrigin.count > 8) {
            throw ValidationError("--public-origin must start with https://")
        }
        guard (1...600).contains(requestHeadTimeout) else { throw ValidationError("--request-head-timeout must be 1 to 600 seconds") }
        if let totpIssuer, !TOTPSecret.isValidIssuer(totpIssuer) {
            throw ValidationError("--totp-issuer must be 1 to 64 characters without ':' or control characters")
        }
        if let settings = try openIDSettings(), let problem = settings.problem { throw ValidationError("--oidc-*: \(problem)") }
        if let settings = try idPortenSettings(), let problem = settings.problem { throw ValidationError("--id-porten-*: \(problem)") }
        guard (1...120).contains(helloTimeout) else { throw ValidationError("--hello-timeout must be 1 to 120 seconds") }
        guard (1...1_000_000).contains(maxConnectionsPerAddress) else {
            throw ValidationError("--max-connections-per-address must be 1 to 1000000")
        }
        for proxy in trustedProxies where (try? SocketAddress(ipAddress: proxy, port: 0)) == nil {
            throw ValidationError("--trusted-proxy must be an IP address, not \(proxy)")
        }
        if let instanceName, !Instance.isValidName(instanceName) {
            throw ValidationError("--instance-name must be 1 to 32 of a-z, 0-9, '-', '_' and '.', starting with a letter or digit")
        }
        guard (3...300).contains(homeLease) else { throw ValidationError("--home-lease must be 3 to 300 seconds") }
        guard (0...1440).contains(lobbyOpensMinutes) else { throw ValidationError("--lobby-opens-minutes must be 0 to 1440") }
        guard TimeZone(identifier: timeZone) != nil else {
            throw ValidationError("--time-zone must be a time zone name such as Europe/Oslo, not \(timeZone)")
        }
        _ = try smtpSettings()
        if let metricsTokenFile, !FileManager.default.isReadableFile(atPath: metricsTokenFile) {
            throw ValidationError("cannot read --metrics-token-file \(metricsTokenFile)")
        }
    }

    /// The configuration these flags describe (after `validate()`).
    func configuration() throws -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.dataDirectory = URL(fileURLWithPath: data.dataDirectory)
        configuration.tlsCertificatePath = tlsCert
        configuration.tlsKeyPath = tlsKey
        configuration.turnURLs = turnURLs
        configuration.turnSecretFile = turnSecretFile
        configuration.iceTransportPolicy = IceTransportPolicy(rawValue: iceTransportPolicy) ?? .all
        configuration.publicOrigin = publicOrigin
        configuration.webRoot = URL(fileURLWithPath: webRoot)
        configuration.developmentCertificateDirectory = URL(fileURLWithPath: certsDirectory)
        configuration.auditOrigin = auditOrigin
        retention.apply(to: &configuration)
        configuration.privacyNoticeURL = privacyNoticeURL
        configuration.accessibilityStatementURL = accessibilityStatementURL
        configuration.messagesPerSecond = messageRate
        configuration.messageBurst = messageBurst
        configuration.requestHeadTimeout = .seconds(requestHeadTimeout)
        configuration.helloTimeout = .seconds(helloTimeout)
        configuration.secondFactor.required = requireSecondFactor
        configuration.totpIssuer = totpIssuer
        configuration.openID = try openIDSettings()
        configuration.idPorten = try idPortenSettings()
        configuration.maxConnectionsPerAddress = maxConnectionsPerAddress
        configuration.metricsTokenFile = metricsTokenFile
        configuration.instanceName = instanceName
        configuration.homeLease = TimeInterval(homeLease)
        configuration.signsAuditCheckpoints = !noAuditSigning
        configuration.trustedProxies = trustedProxies
        configuration.room.lobbyWindow = TimeInterval(lobbyOpensMinutes) * 60
        configuration.timeZone = TimeZone(identifier: timeZone) ?? configuration.timeZone
        configuration.smtp = try smtpSettings()
        return configuration
    }
}
