import Foundation
import SamromCore
import Sodium

/// Everything `samrom serve` can be told, with production defaults.
/// Tests build one with short timeouts and a temporary data directory.
public struct ServerConfiguration: Sendable {
    public var host: String = "127.0.0.1"
    public var port: Int = 8443
    public var dataDirectory: URL = URL(fileURLWithPath: "data")
    /// PEM certificate chain and key; when absent, the development certificate
    /// from `Certs/` is used if present, else a self-signed one is made in the data dir.
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    /// Where `Certs/make-dev-certs.sh` writes the development certificate.
    public var developmentCertificateDirectory: URL = URL(fileURLWithPath: "Certs/out")
    /// The browser client's files.
    public var webRoot: URL = URL(fileURLWithPath: "Web")
    /// The origin people use, e.g. `https://samrom.kommune.no`; join links are
    /// built from it. When nil, the request's Host is used.
    public var publicOrigin: String?

    /// TURN (coturn with `use-auth-secret`).
    public var turnURLs: [String] = []
    public var turnSecretFile: String?
    /// At most an hour (`IceServerProvider` caps it); renewed in the call after three quarters of it.
    public var turnCredentialLifetime: TimeInterval = 3600
    /// `relay`: browsers use TURN relay candidates only, so neither
    /// participant learns the other's IP address. Needs `turnURLs`.
    public var iceTransportPolicy: IceTransportPolicy = .all

    // The audit log
    /// The log's name in checkpoints and its verifier key (a schema-less URL).
    /// Fixed when the signing key is made; by default from `publicOrigin`.
    public var auditOrigin: String?
    /// False on an instance that never signs checkpoints and holds no
    /// signing key (several instances on one store: at least one signs).
    public var signsAuditCheckpoints = true
    /// After this, an entry's content is erased (its leaf hash stays).
    /// Five years, as Kjernejournal keeps its usage logs.
    public var auditRetention: TimeInterval = 1826 * 86_400

    /// Chat envelopes and keys are deleted this long after their consultation
    /// ended or its link expired.
    public var chatRetention: TimeInterval = 30 * 86_400

    /// What `--chat-retention-days` and `--audit-retention-days` accept.
    public static let chatRetentionDaysRange = 0...3650
    public static let auditRetentionDaysRange = 1...36_500

    /// The municipality's privacy notice and accessibility statement, linked
    /// from every page's footer (`--privacy-notice-url`,
    /// `--accessibility-statement-url`; https only).
    public var privacyNoticeURL: String?
    public var accessibilityStatementURL: String?

    /// What the pages tell people before they join (`GET /api/about`).
    public var privacyFacts: PrivacyFacts {
        let media: PrivacyFacts.MediaPath =
            turnURLs.isEmpty ? .direct : iceTransportPolicy == .relay ? .relayAlways : .relayWhenNeeded
        return PrivacyFacts(
            mediaPath: media, chatRetentionDays: Int(chatRetention / 86_400), auditRetentionDays: Int(auditRetention / 86_400),
            privacyNoticeUrl: privacyNoticeURL, accessibilityStatementUrl: accessibilityStatementURL)
    }

    public var effectiveAuditOrigin: String {
        if let auditOrigin { return auditOrigin }
        let host = publicOrigin.flatMap { URL(string: $0)?.host } ?? "localhost"
        return host + "/samrom-audit"
    }

    // Sessions and logins
    public var sessionIdleTimeout: TimeInterval = 2 * 3600
    public var sessionLifetime: TimeInterval = 12 * 3600
    public var passwordLimits: PasswordHash.Limits = .interactive
    public var loginThrottle: LoginThrottle.Policy = .init()
    /// Threads that run Argon2id (each check takes a core and 64 MiB for tens
    /// of milliseconds), apart from the threads that serve calls; and how
    /// many more checks may wait before a login is answered "busy" (503).
    public var passwordWorkers: Int = max(1, ProcessInfo.processInfo.activeProcessorCount / 2)
    public var passwordQueueLimit: Int = 16
    /// The second factor: `--require-second-factor`, how long a login may
    /// wait for its second step and how many codes it may try.
    public var secondFactor: SecondFactorPolicy = .init()
    /// The name authenticator apps show beside the account (`--totp-issuer`);
    /// by default the public origin's host.
    public var totpIssuer: String?
    /// Staff login with the municipality's identity provider (`--oidc-*`).
    public var openID: OpenIDSettings?
    /// ID-porten for deltakere before knocking (`--id-porten-*`); its
    /// `requiredACR` is `idporten-loa-high`.
    public var idPorten: OpenIDSettings?
    /// False where no TOTP secret is ever opened (a CLI command in a data
    /// directory without `second-factor.key`); the server always loads it.
    public var loadsSecondFactorKey = true

    public var effectiveTOTPIssuer: String {
        totpIssuer ?? publicOrigin.flatMap { URL(string: $0)?.host } ?? "Samrom"
    }

    /// Refused `hello`s (a bad link, no login, an unknown resume token) per
    /// client address before that address must wait.
    public var helloThrottle: LoginThrottle.Policy = .init(freeFailures: 20, baseDelay: 1, maxDelay: 60)

    // Several instances (issue 14)
    /// This instance's name among those sharing a store: the load
    /// balancer's server name, which `moved` sends clients to. When set, join
    /// links carry the consultation's route key (`/j/?r=KEY#TOKEN`).
    public var instanceName: String?
    /// How long a call's home is leased to the instance running it; renewed
    /// every third of it. A survivor takes a dead instance's calls after it.
    public var homeLease: TimeInterval = 10

    /// This run of the instance: `instanceName` (or "samrom" alone) with a
    /// fresh boot id each call; made once per server.
    public func instance() throws -> Instance {
        try Instance(name: instanceName ?? "samrom")
    }

    // Signalling
    public var room: Room.Configuration = .init()
    /// The centre's time zone: the invitations' wording and the months of
    /// the anonymous figures (`--time-zone`).
    public var timeZone: TimeZone = TimeZone(identifier: "Europe/Oslo") ?? .gmt
    /// The municipality's SMTP server for invitations (`--smtp-*`); without
    /// it no e-mail is ever sent.
    public var smtp: SMTPSettings?
    /// A connection that has not said hello by then is dropped.
    public var helloTimeout: Duration = .seconds(5)
    /// Server pings; a peer that has not answered by the next ping is closed
    /// (with a 1 s TLS shutdown timeout: a half-open socket is gone within ~9 s).
    public var pingInterval: Duration = .seconds(4)
    /// Largest WebSocket message accepted; larger ones close with 1009.
    /// (A sealed offer is at most 64 KiB of base64; six chat copies about 100 KiB.)
    public var maxMessageBytes: Int = 128 * 1024
    /// Per-connection message rate (sustained, burst).
    public var messagesPerSecond: Double = 30
    public var messageBurst: Double = 120
    /// After this many rate-limited messages in a row, the connection is closed.
    public var maxRejectedMessages: Int = 200
    /// Bytes queued for one connection that does not read before it is
    /// closed as too slow (with at most 1,024 messages).
    public var maxOutboxBytes: Int = 4 << 20
    /// A consultation's stored chat: messages and bytes of sealed copies.
    public var chatLimits: ChatQuota.Limits = .init()
    /// Largest JSON request body on the HTTP API.
    public var maxRequestBodyBytes: Int = 16 * 1024

    // Connections and files (issue 13, points 10–12)
    /// A connection must finish its TLS handshake and first request head
    /// within this, and each later request head within this of its first
    /// byte; a slowloris client is closed. WebSockets are exempt once upgraded.
    public var requestHeadTimeout: Duration = .seconds(10)
    /// Connections open at once from one IP address; more are closed at once.
    /// Generous: a municipality's staff may share one NAT address.
    public var maxConnectionsPerAddress: Int = 200
    /// Reverse proxies (HAProxy in front of several instances) whose
    /// `X-Forwarded-For` names the client: for the audit log and the
    /// per-address limits. Their own connections are not counted per address.
    public var trustedProxies: [String] = []
    /// A file holding the bearer token that lets non-loopback clients read
    /// `/metrics`; without it, `/metrics` answers loopback peers only.
    public var metricsTokenFile: String?

    public init() {}

    public var listensOnLoopbackOnly: Bool {
        ["127.0.0.1", "::1", "localhost"].contains(host)
    }
}
