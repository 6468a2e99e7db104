import AsyncHTTPClient
import Foundation
import Logging
import NIOSSL
import SamromCore
import SamromPostgres
import SamromStore
import SamromTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 14's benchmarks on one `BenchCluster` (two instances on PostgreSQL
/// behind HAProxy):
///
/// 1. relay: `RelayScenario`'s measurement (a fixed rate for latency, then
///    saturated) against samrom-a straight, then through HAProxy with the
///    calls spread over both instances by their route keys;
/// 2. resume storm: `joinStorm` calls set up through HAProxy, the instance
///    holding more of them SIGKILLed, and every participant of its calls
///    (veileder with its cookie, deltaker) resuming through HAProxy,
///    following `moved` as the browser does, until back in the call; the
///    survivor's own calls must stay connected;
/// 3. audit: two TransparencyLogs in this process, each on its own
///    PostgresStore (as two instances), `auditWriters` writers split between
///    them, then `samrom audit verify --store …` over the whole log.
enum ClusterScenario {
    static func measure(
        samromBinary: String, work: URL, profile: BenchProfile, http: HTTPClient, tls: TLSConfiguration, logger: Logger,
        progress: @Sendable (String) -> Void
    ) async throws -> BenchReport.Cluster {
        // Each proxied WebSocket is two connections in HAProxy; the storm's
        // old ones may not all be gone when the new ones come.
        let files = 6 * max(profile.joinStorm, profile.relayRooms) + 2000
        let cluster = try await BenchCluster.start(samromBinary: samromBinary, work: work, haproxyFiles: files, http: http)
        do {
            let result = try await measure(cluster, samromBinary: samromBinary, profile: profile, http: http, tls: tls, logger: logger, progress: progress)
            await cluster.stop()
            return result
        } catch {
            let logs = cluster.instances.map { "--- \($0.name) ---\n\($0.child.logTail(15))" }.joined(separator: "\n")
            await cluster.stop()
            throw BenchError("\(error)\n\(logs)")
        }
    }

    private static func measure(
        _ cluster: BenchCluster, samromBinary: String, profile: BenchProfile, http: HTTPClient, tls: TLSConfiguration, logger: Logger,
        progress: @Sendable (String) -> Void
    ) async throws -> BenchReport.Cluster {
        let traffic = RelayTraffic()
        let a = try cluster.instance("samrom-a"), b = try cluster.instance("samrom-b")
        let haproxyPid = cluster.haproxy.child.pid
        let haproxyFiles = cluster.haproxyOpenFiles

        progress("cluster: relay, samrom-a direct (PostgreSQL store)")
        let direct = try await SamromTarget.login(
            port: a.port, tls: tls, http: http, username: BenchServers.username, password: BenchServers.password, logger: logger)
        let (relayDirect, _) = try await relay(
            profile: profile, makePair: RelayScenario.samromPair(direct, traffic: traffic), servers: [a.child.pid], proxy: nil)

        progress("cluster: relay through HAProxy, calls on both instances")
        let proxied = try await SamromTarget.login(
            port: cluster.haproxy.port, tls: tls, http: http, username: BenchServers.username, password: BenchServers.password,
            logger: logger)
        let (relayProxied, haproxyCpu) = try await relay(
            profile: profile, makePair: RelayScenario.samromPair(proxied, traffic: traffic), servers: [a.child.pid, b.child.pid],
            proxy: haproxyPid)
        for instance in [a, b] where !instance.child.isRunning { throw BenchError("\(instance.name) exited during the relay") }

        progress("cluster: resume storm, \(profile.joinStorm) calls through HAProxy, one instance SIGKILLed")
        let storm = try await resumeStorm(cluster, proxied, profile: profile)

        progress("cluster: audit, \(profile.clusterAuditEntries) entries by \(profile.auditWriters) writers over two logs on PostgreSQL")
        // The instances are done with: the database is the audit's alone.
        await cluster.haproxy.stop()
        for instance in cluster.instances { await instance.child.stop(grace: .seconds(2)) }
        let audit = try await audit(cluster, samromBinary: samromBinary, profile: profile)

        let postgresVersion = (try? await cluster.postgres.psql("SHOW server_version"))?.trimmingCharacters(in: .whitespacesAndNewlines)
        let haproxyVersion = (try? await BenchCluster.command(HAProxyServer.binary, ["-v"]))?
            .split(separator: "\n").first.map { String($0.split(separator: " ").prefix(3).joined(separator: " ")) }
        return BenchReport.Cluster(
            instances: cluster.instances.count, homeLeaseSeconds: BenchCluster.lease,
            postgres: "PostgreSQL \(postgresVersion ?? "15")", haproxy: haproxyVersion ?? "HAProxy", haproxyOpenFiles: haproxyFiles,
            relayDirect: relayDirect, relayProxied: relayProxied, haproxyCpuMsPerThousand: haproxyCpu, resumeStorm: storm, audit: audit)
    }

    // MARK: 1. Relay

    /// `RelayScenario.measure` for servers that are processes of the
    /// cluster: the same pairs, runs and numbers; the server CPU is that of
    /// `servers` together, the proxy's is returned beside it.
    static func relay(
        profile: BenchProfile, makePair: @escaping RelayScenario.PairMaker, servers: [pid_t], proxy: pid_t?
    ) async throws -> (BenchReport.Relay, proxyCpuMsPerThousand: Double) {
        let warmup = profile.relaySeconds / 5
        let setup = Double(max(120, profile.relayRooms / 10))
        let fixed = try await withDeadline(setup, "setting up \(profile.relayRooms) rooms") {
            try await concurrently(profile.relayRooms, width: profile.setupConcurrency, makePair)
        }
        let atRate = await RelayRun.run(
            pairs: fixed, mode: .fixedRate(totalPerSecond: profile.relayFixedRate), warmup: warmup, seconds: profile.relaySeconds)
        for (x, y) in fixed { x.socket.close(); y.socket.close() }

        let saturating = try await withDeadline(setup, "setting up \(profile.relayRooms) rooms") {
            try await concurrently(profile.relayRooms, width: profile.setupConcurrency, makePair)
        }
        func cpu() -> (Double, Double) { (servers.map(ProcStat.cpuSeconds).reduce(0, +), proxy.map(ProcStat.cpuSeconds) ?? 0) }
        let before = cpu()
        let saturated = await RelayRun.run(
            pairs: saturating, mode: .saturate(window: profile.relayWindow), warmup: warmup, seconds: profile.relaySeconds)
        let after = cpu()
        for (x, y) in saturating { x.socket.close(); y.socket.close() }
        guard saturated.delivered > 0, atRate.delivered > 0 else { throw BenchError("cluster: nothing was relayed") }
        let framesInCPUWindow = max(saturated.perSecond * (warmup + profile.relaySeconds + 0.3), 1)
        let fixedLatency = atRate.latency.summary
        return (
            BenchReport.Relay(
                msgsPerSec: saturated.perSecond, p50Ms: fixedLatency.p50Ms, p99Ms: fixedLatency.p99Ms, maxMs: fixedLatency.maxMs,
                saturated: saturated.latency.summary, serverCpuMsPerThousand: (after.0 - before.0) * 1e6 / framesInCPUWindow,
                serverPeakRssBytes: servers.map(ProcStat.peakRss).max() ?? 0),
            (after.1 - before.1) * 1e6 / framesInCPUWindow
        )
    }

    // MARK: 2. Resume storm

    private struct Resumed: Sendable {
        /// Nanoseconds after the kill: the `welcome`, and back in the call.
        var welcome: UInt64
        var back: UInt64
        var trace: SamromTarget.HelloTrace
        var socket: BenchSocket
    }

    /// How many calls HAProxy can hold with `openFiles`: it derives its
    /// connection limit from that (each connection through it takes two
    /// descriptors), and each call is two WebSockets; 400 connections are
    /// left for the HTTP API, health checks and reconnections.
    static func callsHAProxyHolds(openFiles: Int) -> Int {
        openFiles > 0 ? max(1, (openFiles / 2 - 400) / 2) : Int.max
    }

    static func resumeStorm(_ cluster: BenchCluster, _ target: SamromTarget, profile: BenchProfile) async throws -> BenchReport.ResumeStorm {
        let count = min(profile.joinStorm, callsHAProxyHolds(openFiles: cluster.haproxyOpenFiles))
        // A connection beyond HAProxy's limit waits, unanswered: fail rather than wait for ever.
        let pairs = try await withDeadline(Double(max(120, count / 10)), "setting up \(count) calls through HAProxy") {
            try await concurrently(count, width: profile.setupConcurrency) { try await target.pair($0) }
        }
        let homes = try await cluster.homes()
        var byHome: [String: [Int]] = [:]
        for (index, pair) in pairs.enumerated() {
            guard let home = homes[pair.consultation.rawValue] else { throw BenchError("call \(index) has no home in the database") }
            byHome[home, default: []].append(index)
        }
        // The instance with more calls dies: the bigger storm.
        let killedName = BenchCluster.instanceNames.max { (byHome[$0]?.count ?? 0) < (byHome[$1]?.count ?? 0) }!
        let killed = try cluster.instance(killedName)
        guard let survivor = cluster.instances.first(where: { $0.name != killedName }) else { throw BenchError("no survivor") }
        let victims = byHome[killedName] ?? []
        let others = pairs.indices.filter { !victims.contains($0) }
        let deadline = Double(BenchCluster.lease) + 90

        let cpuBefore = ProcStat.cpuSeconds(survivor.child.pid)
        let killedAt = RelayTraffic.now()
        await killed.child.kill()
        let outcomes = try await concurrently(victims.count * 2, width: max(1, victims.count * 2)) { slot -> Result<Resumed, BenchError> in
            let pair = pairs[victims[slot / 2]]
            let asVeileder = slot % 2 == 0
            let me = asVeileder ? pair.veileder : pair.deltaker
            let resume = asVeileder ? pair.veilederResume : pair.deltakerResume
            do {
                return .success(try await withDeadline(deadline, "resuming") {
                    // The client notices its socket end (HAProxy closes it when
                    // the instance is gone) and comes back at once.
                    while await me.socket.nextText() != nil {}
                    let (socket, welcome, trace) = try await target.hello(
                        #"{"type":"hello","v":2,"resume":"\#(resume)"}"#, asVeileder: asVeileder, route: pair.route,
                        deadline: .now + .seconds(deadline))
                    let welcomed = RelayTraffic.now() - killedAt
                    guard try SamromTarget.you(welcome) == me.participant else { throw BenchError("resumed as someone else") }
                    let skipping: Set<String> = ["pong", "roster", "key", "knock", "lobby", "lobby-left"]
                    _ = try await SamromTarget.expect("admitted", on: socket, skipping: skipping)
                    _ = try await SamromTarget.expectRoster(on: socket) { $0.count == 2 }
                    // The same device: its key, announced again on the new connection.
                    let back = SamromTarget.Participant(socket: socket, participant: me.participant, keys: me.keys)
                    back.announceKey()
                    _ = try await SamromTarget.expectRoster(on: socket) { entries in
                        entries.count == 2 && entries.contains { $0["keyId"] == .string(back.keyID) }
                    }
                    return Resumed(welcome: welcomed, back: RelayTraffic.now() - killedAt, trace: trace, socket: socket)
                })
            } catch {
                return .failure(BenchError("\(asVeileder ? "veileder" : "deltaker") of call \(victims[slot / 2]): \(error)"))
            }
        }
        let cpu = ProcStat.cpuSeconds(survivor.child.pid) - cpuBefore

        // The survivor's own calls: every socket still answers a ping.
        let lost = try await concurrently(others.count * 2, width: max(1, min(others.count * 2, 256))) { slot -> Bool in
            let pair = pairs[others[slot / 2]]
            let socket = slot % 2 == 0 ? pair.veileder.socket : pair.deltaker.socket
            socket.send(#"{"type":"ping"}"#)
            do {
                _ = try await withDeadline(10, "no pong") { try await SamromTarget.expect("pong", on: socket) }
                return false
            } catch {
                return true
            }
        }.filter { $0 }.count
        let after = try await cluster.homes()
        let takenOver = victims.filter { after[pairs[$0].consultation.rawValue] == survivor.name }.count

        var latency = Latency()
        var resumed: [Resumed] = []
        var failures: [String] = []
        for outcome in outcomes {
            switch outcome {
            case .success(let back):
                resumed.append(back)
                latency.record(nanos: back.back)
            case .failure(let error):
                failures.append(error.description)
            }
        }
        for back in resumed { back.socket.close() }
        for index in others { pairs[index].veileder.socket.close(); pairs[index].deltaker.socket.close() }
        if !failures.isEmpty {
            FileHandle.standardError.write(Data("samrom-bench: resume storm, \(failures.count) errors, e.g. \(failures.prefix(3))\n".utf8))
        }
        let last = resumed.map(\.back).max() ?? 0
        let firstWelcome = resumed.map(\.welcome).min() ?? 0
        return BenchReport.ResumeStorm(
            pairsWanted: profile.joinStorm, pairs: pairs.count, pairsOnKilled: victims.count, participants: victims.count * 2, errors: failures.count,
            untouched: others.count * 2, untouchedLost: lost, takenOver: takenOver, secondsFromKill: Double(last) / 1e9,
            firstWelcomeSeconds: Double(firstWelcome) / 1e9, secondsWithoutLease: Double(last - min(firstWelcome, last)) / 1e9,
            perClient: latency.summary, moves: resumed.map(\.trace.moves).reduce(0, +),
            retries: resumed.map(\.trace.retries).reduce(0, +), survivorCpuSeconds: cpu)
    }

    // MARK: 3. Audit

    static func audit(_ cluster: BenchCluster, samromBinary: String, profile: BenchProfile) async throws -> BenchReport.ClusterAudit {
        let url = try await cluster.postgres.createDatabase("samrom_bench_audit")
        let directory = cluster.directory.appendingPathComponent("audit")
        let signer = try AuditSigningKey.loadOrCreate(in: directory, name: "bench.samrom.example/audit")
        var logger = Logger(label: "samrom-bench.postgres")
        logger.logLevel = .critical
        // Two instances: each its own store (connection pool and signing
        // turn) and its own tree, one signing key.
        var stores: [PostgresStore] = []
        var logs: [TransparencyLog] = []
        do {
            for _ in 0..<2 {
                let store = try await PostgresStore.connect(url: url, logger: logger)
                stores.append(store)
                logs.append(try await TransparencyLog.open(store: store, signer: signer, clock: .system, turn: store))
            }
        } catch {
            for store in stores { await store.close() }
            throw error
        }
        let writers = max(2, profile.auditWriters)
        let perWriter = max(1, profile.clusterAuditEntries / writers)
        let started = RelayTraffic.now()
        let appendSeconds: Double
        do {
            let logs = logs
            // As the servers do: each instance asks for a checkpoint every
            // second (the one holding the signing turn signs).
            let checkpointing = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    for log in logs { _ = try? await log.checkpoint() }
                }
            }
            defer { checkpointing.cancel() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<writers {
                    let log = logs[writer % logs.count]
                    group.addTask {
                        for index in 0..<perWriter {
                            try await log.record(AuditEvent(
                                at: Date(), actor: .participant(.random(), role: .deltaker), action: index % 3 == 0 ? .knock : .join,
                                consultation: ConsultationID.random(), outcome: .allowed, reason: "benchmark writer \(writer)", clientIP: "127.0.0.1"))
                        }
                    }
                }
                try await group.waitForAll()
            }
            appendSeconds = Double(RelayTraffic.now() - started) / 1e9
            checkpointing.cancel()
            _ = await checkpointing.value
            for log in logs { _ = try await log.checkpoint() }
        } catch {
            for store in stores { await store.close() }
            throw error
        }
        for store in stores { await store.close() }
        let appended = writers * perWriter

        let verifyStart = RelayTraffic.now()
        let printed = try await BenchCluster.command(
            samromBinary, ["audit", "verify", "--store", url, "--data-dir", directory.path])
        let verifySeconds = Double(RelayTraffic.now() - verifyStart) / 1e9
        guard printed.contains("Audit log intact: \(appended) entries") else {
            throw BenchError("samrom audit verify --store did not find the \(appended) entries intact: \(printed)")
        }
        return BenchReport.ClusterAudit(
            logs: logs.count, writers: writers, appended: appended, appendPerSec: Double(appended) / appendSeconds,
            verifySeconds: verifySeconds, verifyPerSec: Double(appended) / verifySeconds)
    }
}
