import Foundation
import SamromCore
import SamromServer
import SamromTestSupport
import Testing

extension BrowserInteropTests {
    /// A call that has to survive, in two real Chromiums (Tests/Browser/resilience_flow.py),
    /// with the pages loaded through a TCP proxy the script can cut: the
    /// deltaker reloads mid-call and is straight back in the call (resume
    /// token, no lobby, no second knock), video flowing both ways again; then
    /// every connection is reset at once, as a network change does, and both
    /// pages say so calmly, reconnect by themselves and keep decoding frames.
    /// The connection-quality indicator says "God forbindelse" in text, and
    /// its pure function (lib/rtc.js) maps a table of measurements as meant.
    @Test(.enabled(if: available, "runs under `make test`: Chromium in a loopback-only network namespace"))
    func aCallSurvivesAReloadAndANetworkChange() async throws {
        try await withServer { server in
            try await server.addUser("kari", role: .veileder, password: "a good long password")
            let script = try BrowserScript("resilience_flow.py", [
                "https://localhost:\(server.port)", "kari", "a good long password", #"{"reload": true, "cut": true}"#,
            ])
            let result = try await script.next()
            #expect(result["axe"] as? [String] == [], "\(result["axe"] ?? "")")
            Self.expectQuality(result)
            #expect(result["qualityTable"] as? [String: String] == [
                "good": "good", "lossy": "weak", "slow": "weak", "stutter": "weak", "cameraOff": "good",
                "silent": "none", "disconnected": "none", "unknownLoss": "good",
            ])

            // The reload: back in the call at once, video both ways again.
            let reload = try #require(result["afterReload"] as? [String: Any])
            #expect(reload["deltakerState"] as? String == "call")
            // Said first; the new call code agreed right after may follow in the same announcement.
            #expect((reload["status"] as? String)?.hasPrefix("Du er tilbake i samtalen.") == true, "\(reload["status"] ?? "")")
            for side in ["deltaker", "veileder"] {
                let stats = try #require(reload[side] as? [String: Any], "\(reload)")
                #expect((stats["framesDecoded"] as? Int ?? 0) > 0 && (stats["bytesReceived"] as? Int ?? 0) > 0, "\(side): \(stats)")
                #expect(stats["state"] as? String == "connected", "\(side): \(stats)")
            }

            // The network change: both pages announce it, come back, and frames keep coming.
            #expect((result["cutConnections"] as? Int ?? 0) >= 2)
            try Self.expectReconnected(result, sameConnection: true)
            #expect(result["resourceHosts"] as? [String] == [(result["base"] as? String ?? "").replacingOccurrences(of: "https://", with: "")])
            #expect(await script.finish() == 0)

            // One knock only: the reload and both reconnects came back with resume tokens.
            let entries = try await server.auditEntries().map(\.event)
            #expect(entries.filter { $0.action == .knock }.count == 1)
            let resumes = entries.filter { $0.action == .resume }
            #expect(resumes.count >= 3 && resumes.allSatisfy { $0.outcome == .allowed }, "\(resumes.map(\.reason))")
        }
    }

    /// Relay only, for real: coturn with TURN REST credentials from Samrom and
    /// `--ice-transport-policy relay`, so neither browser learns the other's
    /// address. The call connects relay/relay and video is decoded on both
    /// sides. Then the network "changes" (every signalling connection reset)
    /// and the relay restarts (every allocation lost): both pages reconnect,
    /// restart ICE on the same call (new ICE credentials) and decode again,
    /// still relay/relay.
    @Test(.enabled(if: available && TurnServer.available, "runs under `make test`: Chromium and coturn in a loopback-only network namespace"))
    func aRelayOnlyCallGoesThroughCoturnAndRestartsICE() async throws {
        let turn = try await TurnServer.start()
        defer { turn.stop() }
        try await withServer({
            $0.turnURLs = [turn.url]
            $0.turnSecretFile = turn.secretFile.path
            $0.iceTransportPolicy = .relay
        }) { server in
            try await server.addUser("kari", role: .veileder, password: "a good long password")
            let script = try BrowserScript("resilience_flow.py", [
                "https://localhost:\(server.port)", "kari", "a good long password", #"{"cut": true, "turnRestart": true}"#,
            ])
            let step = try await script.next()
            #expect(step["step"] as? String == "cut")
            try await turn.restart()
            try script.send([String: String]())
            let result = try await script.next()
            #expect(result["axe"] as? [String] == [], "\(result["axe"] ?? "")")
            let start = try #require(result["start"] as? [String: Any])
            for side in ["veileder", "deltaker"] {
                let stats = try #require(start[side] as? [String: Any])
                #expect(stats["policy"] as? String == "relay", "\(side): \(stats)")
                #expect(stats["local"] as? String == "relay" && stats["remote"] as? String == "relay", "\(side): \(stats)")
                #expect((stats["framesDecoded"] as? Int ?? 0) > 0 && (stats["bytesReceived"] as? Int ?? 0) > 0, "\(side): \(stats)")
            }
            Self.expectQuality(result)
            try Self.expectReconnected(result, sameConnection: true)
            let before = try #require(result["beforeCut"] as? [String: [String: Any]])
            let after = try #require(result["afterCut"] as? [String: [String: Any]])
            for side in ["veileder", "deltaker"] {
                // An ICE restart on the same RTCPeerConnection: new ICE credentials, still relayed.
                #expect(after[side]?["ufrag"] as? String != before[side]?["ufrag"] as? String, "\(side): no ICE restart")
                #expect(after[side]?["local"] as? String == "relay" && after[side]?["remote"] as? String == "relay", "\(side): \(after[side] ?? [:])")
            }
            #expect(await script.finish() == 0)
        }
    }

    static func expectQuality(_ result: [String: Any]) {
        #expect(result["veilederQuality"] as? String == "God forbindelse", "\(result["veilederQuality"] ?? "")")
        #expect(result["deltakerQuality"] as? String == "God forbindelse", "\(result["deltakerQuality"] ?? "")")
    }

    /// Both pages said "Forbindelsen ble brutt. Kobler til igjen …" then "Tilkoblet igjen.",
    /// stayed in the call, and decoded more frames after the cut.
    static func expectReconnected(_ result: [String: Any], sameConnection: Bool) throws {
        let before = try #require(result["beforeCut"] as? [String: [String: Any]])
        let after = try #require(result["afterCut"] as? [String: [String: Any]])
        for side in ["veileder", "deltaker"] {
            let page = try #require(after[side], "\(side)")
            let said = page["announcements"] as? [String] ?? []
            let dropped = said.firstIndex(of: "Forbindelsen ble brutt. Kobler til igjen …")
            let back = said.lastIndex(of: "Tilkoblet igjen.")
            #expect(dropped != nil && back != nil && dropped! < back!, "\(side): \(said)")
            #expect(page["state"] as? String == (side == "veileder" ? "room" : "call"))
            if sameConnection {
                #expect(page["made"] as? Int == before[side]?["made"] as? Int, "\(side): a new RTCPeerConnection was made")
            }
            #expect((page["framesDecoded"] as? Int ?? 0) > (before[side]?["framesDecoded"] as? Int ?? 0), "\(side): \(page)")
        }
        #expect(result["veilederQualityAfterCut"] as? String == "God forbindelse")
        #expect(result["deltakerQualityAfterCut"] as? String == "God forbindelse")
        // Both pages agree on a call code again after the reconnect.
        let codes = result["callCodesAfterCut"] as? [String] ?? []
        #expect(codes.count == 2 && codes[0] == codes[1] && codes[0].wholeMatch(of: /\d{4} \d{4} \d{4}/) != nil, "\(codes)")
    }
}
