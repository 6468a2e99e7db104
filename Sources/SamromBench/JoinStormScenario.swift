import Foundation
import SamromCore
import Sodium

/// Join storm: every deltaker of `joinStorm` calls loses its connection at
/// once (a network blip), the server notices (each veileder's `roster` is
/// down to itself), then all reconnect at the same moment with the resume
/// tokens their `welcome` gave them. Measured: the time until every one is
/// back in its call without knocking, as a v2 client is: `welcome`,
/// `admitted` and `roster`, then its device key announced again (`key`)
/// and on the roster; and the errors.
enum JoinStormScenario {
    static func samrom(_ server: ServerProcess, _ target: SamromTarget, profile: BenchProfile) async throws -> BenchReport.JoinStorm {
        let pairs = try await concurrently(profile.joinStorm, width: profile.setupConcurrency) { try await target.pair($0) }
        // The blip: TCP connections dropped without a close handshake.
        for pair in pairs { pair.deltaker.socket.drop() }
        _ = try await withDeadline(60, "the server did not notice the dropped connections") {
            try await concurrently(pairs.count, width: pairs.count) { index in
                try await SamromTarget.expectRoster(on: pairs[index].veileder.socket) { $0.count == 1 }
            }
        }

        let cpuBefore = server.cpuSeconds()
        let start = RelayTraffic.now()
        let outcomes = try await concurrently(pairs.count, width: pairs.count) { index -> (UInt64?, BenchSocket?) in
            do {
                let pair = pairs[index]
                let socket = try await target.socket(asVeileder: false)
                socket.send(#"{"type":"hello","v":2,"resume":"\#(pair.deltakerResume)"}"#)
                let welcome = try await SamromTarget.expect("welcome", on: socket)
                guard try SamromTarget.you(welcome) == pair.deltaker.participant else { throw BenchError("resumed as someone else") }
                _ = try await SamromTarget.expect("admitted", on: socket)
                _ = try await SamromTarget.expectRoster(on: socket) { $0.count == 2 }
                // The same device comes back: the same key, announced again on the new connection.
                let resumed = SamromTarget.Participant(socket: socket, participant: pair.deltaker.participant, keys: pair.deltaker.keys)
                resumed.announceKey()
                _ = try await SamromTarget.expectRoster(on: socket) { entries in
                    entries.contains { $0["keyId"] == .string(resumed.keyID) }
                }
                return (RelayTraffic.now() - start, socket)
            } catch {
                return (nil, nil)
            }
        }
        let seconds = Double(RelayTraffic.now() - start) / 1e9
        let cpu = server.cpuSeconds() - cpuBefore
        var latency = Latency()
        for case (let nanos?, _) in outcomes { latency.record(nanos: nanos) }
        for (_, socket) in outcomes { socket?.close() }
        for pair in pairs { pair.veileder.socket.close() }
        return BenchReport.JoinStorm(
            count: pairs.count, seconds: seconds, errors: outcomes.filter { $0.0 == nil }.count, perClient: latency.summary,
            serverCpuSeconds: cpu)
    }
}
