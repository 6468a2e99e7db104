import Foundation

/// Join storm: every deltaker of `joinStorm` calls loses its connection at
/// once (a network blip), the server notices, then all reconnect at the same
/// moment with their resume tokens. Measured: the time until every one is
/// welcomed and back in its call (`admitted`) without knocking, and errors.
enum JoinStormScenario {
    static func samrom(_ server: ServerProcess, _ target: SamromTarget, profile: BenchProfile) async throws -> BenchReport.JoinStorm {
        let pairs = try await concurrently(profile.joinStorm, width: profile.setupConcurrency) { try await target.pair($0) }
        // The blip: TCP connections dropped without a close handshake.
        for pair in pairs { pair.deltaker.drop() }
        _ = try await withDeadline(60, "the server did not notice the dropped connections") {
            try await concurrently(pairs.count, width: pairs.count) { index in
                try await SamromTarget.expect("peer-left", on: pairs[index].veileder)
            }
        }

        let cpuBefore = server.cpuSeconds()
        let start = RelayTraffic.now()
        let outcomes = try await concurrently(pairs.count, width: pairs.count) { index -> (UInt64?, BenchSocket?) in
            do {
                let socket = try await target.socket(asVeileder: false)
                socket.send(#"{"type":"hello","v":1,"resume":"\#(pairs[index].deltakerResume)"}"#)
                _ = try await SamromTarget.expect("welcome", on: socket)
                _ = try await SamromTarget.expect("admitted", on: socket)
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
        for pair in pairs { pair.veileder.close() }
        return BenchReport.JoinStorm(
            count: pairs.count, seconds: seconds, errors: outcomes.filter { $0.0 == nil }.count, perClient: latency.summary,
            serverCpuSeconds: cpu)
    }
}
