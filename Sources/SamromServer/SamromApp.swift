import Foundation
import HummingbirdCore
import NIOCore
import Hummingbird
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import SamromCore
import SamromStore
import ServiceLifecycle

/// The whole server, wired: store, services, hub, HTTP routes and `/ws`.
/// `samrom serve` and the tests build it the same way.
public struct SamromApp: Sendable {
    public let configuration: ServerConfiguration
    /// SQLite in the data directory by default; any other `SamromStorage`
    /// (PostgreSQL for several instances) when given.
    public let store: any SamromStorage
    public let auditor: Auditor
    public let auditLog: TransparencyLog
    public let accounts: AccountService
    public let consultations: ConsultationService
    public let audit: AuditService
    /// The anonymous monthly figures (the leder's page, `samrom stats`).
    public let figures: FiguresService
    public let hub: SignallingHub
    /// Control events to and from the other instances on the store.
    public let cluster: ClusterBus
    public let metrics: ServerMetrics
    /// The municipality's identity provider, when one is configured.
    let openID: OpenIDClient?
    /// ID-porten for deltakere before knocking, when configured.
    let idPorten: OpenIDClient?
    /// Seal the OpenID Connect attempt and ID-porten verification cookies
    /// (keys derived from `second-factor.key`).
    let attemptSealer: CookieSealer?
    let verificationSealer: CookieSealer?
    public let clock: WallClock
    /// The cluster's secret for route keys (the same on every instance).
    let routeSecret: [UInt8]
    let logger: Logger
    let policy: OriginPolicy
    let proxies: TrustedProxies

    public init(
        configuration: ServerConfiguration, store given: (any SamromStorage)? = nil, clock: WallClock = .system, logger: Logger
    ) async throws {
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        store = try given ?? SQLiteStore(directory: configuration.dataDirectory)
        let (signer, verifier) = try await Self.auditKeys(configuration, store: store)
        // Several instances on one store sign one at a time.
        auditLog = try await TransparencyLog.open(
            store: store, signer: signer, verifier: verifier, clock: clock, turn: store as? any SigningTurn)
        auditor = Auditor(sink: auditLog, clock: clock)
        metrics = ServerMetrics()
        policy = OriginPolicy(publicOrigin: configuration.publicOrigin)
        proxies = try TrustedProxies(configuration.trustedProxies)
        routeSecret = try await store.routeSecret()
        // One boot id for the whole run: the hub's holder and the bus's are one.
        let instance = try configuration.instance()
        hub = SignallingHub(
            store: store, auditor: auditor, clock: clock, iceServers: try Self.iceServers(configuration),
            roomConfiguration: configuration.room, instance: instance, homeLease: configuration.homeLease,
            routeSecret: routeSecret, helloThrottle: configuration.helloThrottle,
            helloTimeout: configuration.helloTimeout,
            maxOutboxBytes: configuration.maxOutboxBytes, chatLimits: configuration.chatLimits, metrics: metrics, logger: logger)
        let sealingKey = try await SecondFactorService.loadKey(configuration, store: store)
        let secondFactors = SecondFactorService(
            store: store, auditor: auditor, clock: clock, configuration: configuration, key: sealingKey)
        openID = try Self.openIDClient(configuration.openID, name: "OpenID Connect", clock: clock)
        idPorten = try Self.openIDClient(configuration.idPorten, name: "ID-porten", clock: clock)
        attemptSealer = sealingKey.map { CookieSealer(.openIDAttempt, deriving: $0) }
        verificationSealer = sealingKey.map { CookieSealer(.idPortenVerification, deriving: $0) }
        accounts = try AccountService(
            store: store, auditor: auditor, secondFactors: secondFactors, clock: clock, configuration: configuration)
        cluster = ClusterBus(
            hub: hub, channel: store as? any ClusterChannel, holder: instance.holder, logger: logger)
        consultations = ConsultationService(store: store, auditor: auditor, clock: clock, cluster: cluster)
        audit = AuditService(store: store, log: auditLog, auditor: auditor, clock: clock)
        figures = FiguresService(store: store, auditor: auditor, clock: clock)
    }

    /// The audit log's signing key (none on an instance that does not sign)
    /// and the key it is verified with: the one recorded in the store when
    /// the log was first signed. Instances sharing a store must all sign with
    /// that key; one with another key does not start.
    static func auditKeys(_ configuration: ServerConfiguration, store: any AuditStore) async throws -> (NoteSigner?, NoteVerifier) {
        let signer: NoteSigner?
        if configuration.signsAuditCheckpoints {
            signer = try AuditSigningKey.loadOrCreate(in: configuration.dataDirectory, name: configuration.effectiveAuditOrigin)
        } else {
            try DataDirectory.prepare(configuration.dataDirectory)
            signer = nil
        }
        guard let recorded = try await store.auditVerifierKey(recording: signer?.verifier.verifierKey) else {
            throw StartupFailure(
                description: "no instance has signed this audit log yet: start one that signs (without --no-audit-signing) first")
        }
        if let signer, signer.verifier.verifierKey != recorded {
            throw StartupFailure(
                description: "the audit signing key in \(configuration.dataDirectory.path) is not the key this log is signed with "
                    + "(\(recorded)); copy \(AuditSigningKey.fileName) from an instance that signs it, or start with --no-audit-signing")
        }
        do {
            return (signer, try NoteVerifier(verifierKey: recorded))
        } catch {
            throw StorageError(.corrupt, "the recorded audit verifier key is not valid: \(error)")
        }
    }

    static func openIDClient(_ settings: OpenIDSettings?, name: String, clock: WallClock) throws -> OpenIDClient? {
        guard let settings else { return nil }
        if let problem = settings.problem { throw StartupFailure(description: "\(name): \(problem)") }
        return try OpenIDClient(settings: settings, clock: clock)
    }

    /// A configuration the server cannot start with, in words.
    public struct StartupFailure: Error, CustomStringConvertible {
        public let description: String
    }

    static func iceServers(_ configuration: ServerConfiguration) throws -> IceServerProvider {
        guard !configuration.turnURLs.isEmpty else {
            if configuration.iceTransportPolicy == .relay {
                throw TLSSetup.Failure(description: "--ice-transport-policy relay needs a TURN server (--turn-url and --turn-secret-file)")
            }
            return .none
        }
        for url in configuration.turnURLs where !IceServerProvider.isValidTurnURL(url) {
            throw TLSSetup.Failure(description: "--turn-url must be a turn: or turns: URL")
        }
        guard let file = configuration.turnSecretFile else {
            throw TLSSetup.Failure(description: "--turn-url needs --turn-secret-file")
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw TLSSetup.Failure(description: "cannot read the TURN secret file \(file)")
        }
        let secret = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard secret.utf8.count >= 16 else {
            throw TLSSetup.Failure(description: "the TURN secret must be at least 16 characters")
        }
        return IceServerProvider(
            urls: configuration.turnURLs, secret: Array(secret.utf8), lifetime: configuration.turnCredentialLifetime,
            transportPolicy: configuration.iceTransportPolicy)
    }

    /// The HTTP router: API, operations and the browser client's files.
    func router(metricsAccess: MetricsAccess = MetricsAccess(token: nil)) -> Router<SamromRequestContext> {
        let router = Router(context: SamromRequestContext.self)
        router.add(middleware: SecurityHeadersMiddleware())
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: ClientAddressMiddleware(proxies: proxies))
        router.add(middleware: BodyLimitMiddleware(maxBytes: configuration.maxRequestBodyBytes))
        router.add(middleware: OriginCheckMiddleware(policy: policy))
        router.add(middleware: SessionMiddleware(accounts: accounts))
        router.add(middleware: FileMiddleware(configuration.webRoot.path, searchForIndexHtml: true, logger: logger))
        SessionController(accounts: accounts, configuration: configuration, metrics: metrics).register(on: router)
        SecondFactorController(accounts: accounts).register(on: router)
        OpenIDController(
            accounts: accounts, staff: openID, idPorten: idPorten, attempts: attemptSealer, verifications: verificationSealer,
            policy: policy, clock: clock, metrics: metrics
        ).register(on: router)
        let joinURLs = JoinURLs(policy: policy, routeSecret: routeSecret, routeInJoinLinks: configuration.instanceName != nil)
        ConsultationController(
            consultations: consultations, hub: hub, joinURLs: joinURLs, clock: clock, lobbyWindow: configuration.room.lobbyWindow
        ).register(on: router)
        InvitationController(
            consultations: consultations, store: store, auditor: auditor, joinURLs: joinURLs, clock: clock,
            time: SpokenTime(timeZone: configuration.timeZone), lobbyWindow: configuration.room.lobbyWindow,
            mailer: configuration.smtp.map { SMTPClient(settings: $0) }, metrics: metrics
        ).register(on: router)
        StatsController(figures: figures, timeZone: configuration.timeZone).register(on: router)
        AuditController(audit: audit, log: auditLog, store: store).register(on: router)
        AboutController(facts: configuration.privacyFacts).register(on: router)
        OperationsController(metrics: metrics, store: store, access: metricsAccess).register(on: router)
        // `/ws` requests that were not upgraded land here: say why.
        let policy = self.policy
        router.get("/ws") { request, _ -> Response in
            guard policy.allows(request.headers, authority: request.head.authority) else { throw APIError.crossOrigin }
            throw APIError(.upgradeRequired, "upgrade-required", "This address takes WebSocket connections only.")
        }
        return router
    }

    /// The router that decides WebSocket upgrades on `/ws`.
    func webSocketRouter() -> Router<SamromRequestContext> {
        let router = Router(context: SamromRequestContext.self)
        router.add(middleware: ClientAddressMiddleware(proxies: proxies))
        router.add(middleware: SessionMiddleware(accounts: accounts))
        let socket = SignallingSocket(hub: hub, configuration: configuration, clock: clock)
        let policy = self.policy
        let verifications = verificationSealer
        router.ws("/ws") { request, _ in
            // A page on another origin must not open a socket with our cookie.
            guard policy.allows(request.headers, authority: request.head.authority) else { return .dontUpgrade }
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            // After a `moved`, the client names the instance it was sent to.
            let asked = context.request.uri.queryParameters["i"].map(String.init).flatMap { Instance.isValidName($0) ? $0 : nil }
            // A deltaker who logged in with ID-porten before knocking.
            let identified = context.request.cookies[OpenIDController.verificationCookie].flatMap {
                verifications?.open($0.value, as: VerifiedIdentity.self)
            }
            try await socket.run(
                inbound: inbound, outbound: outbound, account: context.requestContext.account,
                clientIP: context.requestContext.clientIP, identified: identified, askedFor: asked)
        }
        return router
    }

    /// The application over TLS, with the maintenance service alongside.
    public func application(onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }) throws
        -> some ApplicationProtocol
    {
        let (tls, source) = try TLSSetup.configuration(for: configuration, logger: logger)
        logger.info("TLS certificate", metadata: ["source": "\(source.rawValue)"])
        let metricsAccess = try MetricsAccess(tokenFile: configuration.metricsTokenFile)
        let webSocketResponder = webSocketRouter().buildResponder()
        let channelConfiguration = HTTP1WebSocketUpgradeChannel.Configuration(
            http1: .init(idleTimeout: .seconds(120)),
            ws: .init(
                maxFrameSize: configuration.maxMessageBytes,
                autoPing: .enabled(timePeriod: configuration.pingInterval),
                closeTimeout: .seconds(2),
                validateUTF8: true))
        // Shared by every connection: the per-address counts.
        let connections = ConnectionsPerAddress(limit: configuration.maxConnectionsPerAddress, exempt: proxies.addresses)
        let requestHeadTimeout = TimeAmount(configuration.requestHeadTimeout)
        // TLS, then HTTP/1 with the WebSocket upgrade, under the connection
        // guard (per-address limit, request head deadline).
        let server = HTTPServerBuilder { responder in
            GuardedChildChannel(
                base: try TLSChannel(
                    HTTP1WebSocketUpgradeChannel(
                        responder: responder, webSocketResponder: webSocketResponder, configuration: channelConfiguration),
                    tlsConfiguration: tls),
                requestHeadTimeout: requestHeadTimeout, connections: connections)
        }
        return Application(
            router: router(metricsAccess: metricsAccess),
            server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "samrom"),
            services: [
                cluster,
                MaintenanceService(
                    hub: hub, store: store, auditLog: auditLog, auditor: auditor, openID: openID, idPorten: idPorten,
                    configuration: configuration,
                    clock: clock, logger: logger)
            ],
            onServerRunning: onServerRunning,
            logger: logger)
    }
}

/// Periodic housekeeping: frees expired room seats, signs an audit
/// checkpoint every second while entries arrive (and one at shutdown),
/// deletes dead sessions and pending logins and applies audit retention.
struct MaintenanceService: Service {
    let hub: SignallingHub
    let store: any SamromStorage
    let auditLog: TransparencyLog
    let auditor: Auditor
    let openID: OpenIDClient?
    let idPorten: OpenIDClient?
    let configuration: ServerConfiguration
    let clock: WallClock
    let logger: Logger

    func run() async throws {
        var ticks = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: .seconds(1))
            await hub.sweep()
            if ticks % max(1, Int(configuration.homeLease / 3)) == 0 { await hub.renewHomes() }
            do {
                try await auditor.flushRefusals()
            } catch {
                logger.error("writing refusal sums failed", metadata: ["error.type": "\(type(of: error))"])
            }
            await signCheckpoint()
            ticks += 1
            if ticks % 600 == 1 {
                do {
                    _ = try await store.deleteExpiredSessions(now: clock.now, idleTimeout: configuration.sessionIdleTimeout)
                    _ = try await store.deleteExpiredPendingLogins(now: clock.now)
                } catch {
                    logger.error("session cleanup failed", metadata: ["error.type": "\(type(of: error))"])
                }
            }
            if ticks % 3600 == 1 {
                do {
                    _ = try await Retention.run(store: store, auditor: auditor, configuration: configuration, clock: clock)
                } catch {
                    logger.error("retention failed", metadata: ["error.type": "\(type(of: error))"])
                }
            }
        }
        // The last entries of this run get a signed checkpoint too.
        try? await auditor.flushRefusals(all: true)
        await signCheckpoint()
        // Another instance may sign from now on.
        await (store as? any SigningTurn)?.releaseSigningTurn()
        await openID?.shutdown()
        await idPorten?.shutdown()
    }

    private func signCheckpoint() async {
        do {
            try await auditLog.checkpoint()
        } catch {
            logger.error("signing an audit checkpoint failed", metadata: ["error.type": "\(type(of: error))"])
        }
    }
}
