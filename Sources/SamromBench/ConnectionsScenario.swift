import Foundation

/// Capacity: idle, authenticated connections held open with the server's
/// WebSocket pings (every 4 s on both servers), and what each one costs in
/// server memory: (RSS while holding − RSS before) / count.
enum ConnectionsScenario {
    static func samrom(_ server: ServerProcess, _ target: SamromTarget, profile: BenchProfile) async throws -> BenchReport.Connections {
        // Veileder and admitted deltaker per consultation, keys announced: a quiet call.
        try await hold(server, count: profile.connections, profile: profile) { index in
            let pair = try await target.pair(index)
            return [pair.veileder.socket, pair.deltaker.socket]
        }
    }

    static func saltyrtc(_ server: ServerProcess, _ servers: BenchServers, profile: BenchProfile) async throws -> BenchReport.Connections {
        // Initiator and responder per path, both through the server handshake.
        try await hold(server, count: profile.connections, profile: profile) { _ in
            let (initiator, responder) = try await RelayScenario.saltyClients(server.port, servers: servers, pingInterval: 4)
            return [initiator.socket, responder.socket]
        }
    }

    static func ceiling(_ server: ServerProcess, _ servers: BenchServers, profile: BenchProfile) async throws -> BenchReport.Connections {
        // The same TLS and WebSocket settings with nothing on top: what the stack itself costs.
        try await hold(server, count: profile.connections, profile: profile) { index in
            let url = "wss://127.0.0.1:\(server.port)/relay?room=\(index)"
            let a = try await BenchSocket.connect(url, tls: servers.clientTLS, logger: servers.logger)
            let b = try await BenchSocket.connect(url, tls: servers.clientTLS, logger: servers.logger)
            for socket in [a, b] {
                guard await socket.nextText() == "ready" else { throw BenchError("ceiling: no ready") }
            }
            return [a, b]
        }
    }

    private static func hold(
        _ server: ServerProcess, count: Int, profile: BenchProfile, pair: @escaping @Sendable (Int) async throws -> [BenchSocket]
    ) async throws -> BenchReport.Connections {
        try await Task.sleep(for: .milliseconds(500))
        let baseline = server.memory().rss
        let started = Date()
        let sockets = try await concurrently(count / 2, width: profile.setupConcurrency, pair).flatMap { $0 }
        let setup = Date().timeIntervalSince(started)
        let cpuBefore = server.cpuSeconds()
        try await Task.sleep(for: .seconds(profile.connectionHoldSeconds))
        let idleCPU = server.cpuSeconds() - cpuBefore
        let held = server.memory().rss
        guard server.process.isRunning else { throw BenchError("\(server.name) died holding \(sockets.count) connections") }
        // A heap recording ends here, while every connection is held (its
        // "leaked" bytes are then the held heap, not the peak of the teardown).
        if ServerProcess.HeapProfile.isRecording { server.killNow() }
        for socket in sockets { socket.close() }
        return BenchReport.Connections(
            count: sockets.count, rssBytesPerConnection: max(0, held - baseline) / max(sockets.count, 1),
            baselineRssBytes: baseline, heldRssBytes: held, setupSeconds: setup,
            idleCpuPercent: idleCPU / profile.connectionHoldSeconds * 100)
    }
}
