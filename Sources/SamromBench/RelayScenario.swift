import Foundation
import SamromCore
import Sodium

/// Relay: rooms of two clients exchanging sealed `signal` frames the size of
/// a real offer's, answer's and ICE candidate's (`RelayTraffic`) through a
/// server, first at a fixed total rate (latency), then as fast as the server
/// allows (throughput). The same client drives each server.
enum RelayScenario {
    typealias PairMaker = @Sendable (Int) async throws -> (RelayEndpoint, RelayEndpoint)

    static func measure(
        _ server: ServerProcess, profile: BenchProfile, makePair: @escaping PairMaker, close: @Sendable (RelayEndpoint) -> Void
    ) async throws -> BenchReport.Relay {
        let warmup = profile.relaySeconds / 5
        let fixed = try await concurrently(profile.relayRooms, width: profile.setupConcurrency, makePair)
        let atRate = await RelayRun.run(
            pairs: fixed, mode: .fixedRate(totalPerSecond: profile.relayFixedRate), warmup: warmup, seconds: profile.relaySeconds)
        for (a, b) in fixed { close(a); close(b) }

        let saturating = try await concurrently(profile.relayRooms, width: profile.setupConcurrency, makePair)
        let cpuBefore = server.cpuSeconds()
        let saturated = await RelayRun.run(
            pairs: saturating, mode: .saturate(window: profile.relayWindow), warmup: warmup, seconds: profile.relaySeconds)
        let cpu = server.cpuSeconds() - cpuBefore
        for (a, b) in saturating { close(a); close(b) }
        guard saturated.delivered > 0, atRate.delivered > 0 else { throw BenchError("\(server.name): nothing was relayed") }
        let fixedLatency = atRate.latency.summary
        // CPU over warm-up, measurement and the tail: per frame sent in all of it.
        let framesInCPUWindow = saturated.perSecond * (warmup + profile.relaySeconds + 0.3)
        return BenchReport.Relay(
            msgsPerSec: saturated.perSecond, p50Ms: fixedLatency.p50Ms, p99Ms: fixedLatency.p99Ms, maxMs: fixedLatency.maxMs,
            saturated: saturated.latency.summary, serverCpuMsPerThousand: cpu * 1e6 / max(framesInCPUWindow, 1),
            serverPeakRssBytes: server.memory().peak)
    }

    // MARK: The three servers' pairs

    /// A consultation per room: the veileder (who offers) and an admitted
    /// deltaker, both with their keys announced, exchanging `signal` frames.
    static func samromPair(_ target: SamromTarget, traffic: RelayTraffic) -> PairMaker {
        { index in
            let pair = try await target.pair(index)
            let (veileder, deltaker) = try traffic.sides(
                consultation: pair.consultation, offerer: (pair.veileder.participant, pair.veileder.keys),
                answerer: (pair.deltaker.participant, pair.deltaker.keys))
            return (
                RelayEndpoint(socket: pair.veileder.socket) { .text(veileder.frame($0, nanos: $1)) },
                RelayEndpoint(socket: pair.deltaker.socket) { .text(deltaker.frame($0, nanos: $1)) }
            )
        }
    }

    static func ceilingPair(_ port: Int, servers: BenchServers, traffic: RelayTraffic) -> PairMaker {
        { index in
            let url = "wss://127.0.0.1:\(port)/relay?room=\(index)"
            let a = try await BenchSocket.connect(url, tls: servers.clientTLS, logger: servers.logger)
            let b = try await BenchSocket.connect(url, tls: servers.clientTLS, logger: servers.logger)
            for socket in [a, b] {
                guard await socket.nextText() == "ready" else { throw BenchError("ceiling: no ready") }
            }
            // Frames as long as Samrom's clients send, relayed as they are.
            let (first, second) = try traffic.standaloneSides()
            return (
                RelayEndpoint(socket: a) { .text(first.frame($0, nanos: $1)) },
                RelayEndpoint(socket: b) { .text(second.frame($0, nanos: $1)) }
            )
        }
    }

    static func saltyPair(_ port: Int, servers: BenchServers, traffic: RelayTraffic) -> PairMaker {
        { _ in
            let (initiator, responder) = try await saltyClients(port, servers: servers, pingInterval: 0)
            // The payload is the very text a Samrom client sends (its box
            // sealed end to end, tag included), behind SaltyRTC's 24-byte
            // nonce header: the same bytes to relay as Samrom gets.
            let (first, second) = try traffic.standaloneSides()
            return (
                RelayEndpoint(socket: initiator.socket) {
                    .binary(initiator.relayFrame(to: responder.address, sequence: UInt32(truncatingIfNeeded: $0),
                        payload: Array(first.frame($0, nanos: $1).utf8)))
                },
                RelayEndpoint(socket: responder.socket) {
                    .binary(responder.relayFrame(to: initiator.address, sequence: UInt32(truncatingIfNeeded: $0),
                        payload: Array(second.frame($0, nanos: $1).utf8)))
                }
            )
        }
    }

    /// An initiator and a responder on a fresh path, both authenticated.
    static func saltyClients(_ port: Int, servers: BenchServers, pingInterval: Int) async throws -> (SaltyRTCClient, SaltyRTCClient) {
        let initiatorKeys = Box.KeyPair.generate()
        let initiator = try await SaltyRTCClient.connect(
            port: port, initiatorKey: initiatorKeys.publicKey, permanent: initiatorKeys, asInitiator: true,
            pingInterval: pingInterval, tls: servers.clientTLS, logger: servers.logger)
        let responder = try await SaltyRTCClient.connect(
            port: port, initiatorKey: initiatorKeys.publicKey, permanent: .generate(), asInitiator: false,
            pingInterval: pingInterval, tls: servers.clientTLS, logger: servers.logger)
        try await initiator.awaitNewResponder()
        return (initiator, responder)
    }
}
