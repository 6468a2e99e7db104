import Foundation
import SamromCore
import Testing

extension BrowserInteropTests {
    /// A group call in four real Chromiums (Tests/Browser/group_flow.py): the
    /// veileder invites a tolk; a deltaker and the tolk (on a phone-sized
    /// screen) knock and are let in from a lobby that names their roles; every
    /// page plays video from both others, labels each tile with the name that
    /// person chose (sent sealed) and their role, lists everyone, and shows the
    /// same call code; each DTLS certificate matches its sealed SDP; chat from
    /// each reaches the other two with the author's name; the deltaker pins the
    /// tolk large; the tolk's camera and microphone off show on the others'
    /// pages. A fourth person joins later (video from all, a new code, and no
    /// copy of the earlier chat), and the deltaker reloads: same tiles, new code.
    /// Every new screen passes axe-core.
    @Test(.enabled(if: available, "runs under `make test`: Chromium in a loopback-only network namespace"))
    func threeThenFourPeopleHoldAGroupCall() async throws {
        try await withServer { server in
            try await server.addUser("kari", role: .veileder, password: "a good long password")
            let script = try BrowserScript("group_flow.py", ["https://localhost:\(server.port)", "kari", "a good long password", "1"])
            let result = try await script.next()
            #expect(result["error"] == nil, "\(result["error"] ?? "") \(result["debug"] ?? "")")
            #expect(result["axe"] as? [String] == [], "\(result["axe"] ?? "")")
            #expect(result["hiddenViews"] as? [String: Bool] == ["overviewShowsCallControls": false, "welcomeShowsCallControls": false], "\(result["hiddenViews"] ?? "")")
            #expect((result["inviteLabel"] as? String)?.hasPrefix("Ny lenke for tolken") == true, "\(result["inviteLabel"] ?? "")")
            // The token is gone from the address bar once read.
            #expect((result["deltakerAddress"] as? String)?.hasSuffix("/j/") == true, "\(result["deltakerAddress"] ?? "")")
            #expect(Set(result["lobby"] as? [String] ?? []) == ["En deltaker venter.", "En tolk venter."], "\(result["lobby"] ?? "")")

            // Every page: video from both others, each tile named and its role said.
            let tiles = try #require(result["tiles"] as? [String: [[String: Any]]])
            let expected = ["veileder": "kari (veileder)", "deltaker": "Siri (deltaker)", "tolk": "Ola (tolk)"]
            for (page, shown) in tiles {
                let others = shown.filter { $0["self"] as? Bool != true }
                #expect(others.count == 2 && others.allSatisfy { ($0["width"] as? Int ?? 0) > 0 }, "\(page): \(others)")
                let labels = Set(others.compactMap { $0["label"] as? String })
                #expect(labels == Set(expected.filter { $0.key != page }.values), "\(page) shows \(labels)")
            }
            #expect((result["code"] as? String)?.count == 14, "\(result["code"] ?? "")")
            let people = try #require(result["people"] as? [String: [String]])
            #expect(people.values.allSatisfy { $0.count == 3 }, "\(people)")
            #expect(people["tolk"]?.contains { $0.hasPrefix("Deg (Ola) – tolk") } == true, "\(people)")
            let fingerprints = try #require(result["fingerprints"] as? [String: [String?]])
            #expect(fingerprints.values.allSatisfy { $0 == ["true", "true"] }, "\(fingerprints)")

            // Chat: everything reached everyone, each message with its author.
            let messages = try #require(result["messages"] as? [String: [String]])
            for (page, list) in messages {
                #expect(list.count == 3, "\(page): \(list)")
                if page != "deltaker" { #expect(list.contains { $0.contains("(Siri)") && $0.contains("Hei fra Siri") }, "\(page): \(list)") }
                if page != "tolk" { #expect(list.contains { $0.hasPrefix("Tolken (Ola)") && $0.contains("Tolken er klar") }, "\(page): \(list)") }
            }

            // Pinned: the tolk stays large on the deltaker's page.
            #expect(result["pinned"] as? [String] == ["tolk"], "\(result["pinned"] ?? "")")
            #expect((result["pinStatus"] as? String)?.contains("Ola (tolk) vises stort.") == true, "\(result["pinStatus"] ?? "")")
            let off = try #require(result["tolkOff"] as? [String: Any])
            let tolkTile = try #require(off["tile"] as? [String: Any])
            #expect(tolkTile["cameraOff"] as? Bool == true && tolkTile["micOff"] as? Bool == true, "\(tolkTile)")
            #expect((off["people"] as? [String])?.contains("Ola (tolk): kamera av, mikrofon av") == true, "\(off)")

            // The fourth: video from all three, a new code everywhere, no earlier chat.
            let fourth = try #require(result["fourth"] as? [String: Any])
            #expect(((fourth["tiles"] as? [[String: Any]]) ?? []).filter { ($0["width"] as? Int ?? 0) > 0 && $0["self"] as? Bool != true }.count == 3, "\(fourth)")
            #expect((fourth["code"] as? String).map { $0 != result["code"] as? String } == true)
            // The new code is said in the live region, to be read aloud again.
            #expect((fourth["announced"] as? String)?.contains("Ny samtalekode: \(fourth["code"] as? String ?? "?")") == true, "\(fourth["announced"] ?? "")")
            #expect(fourth["messages"] as? [String] == [], "a later joiner read earlier chat: \(fourth["messages"] ?? "")")
            print("group call: first video after \(result["secondsToVideo"] ?? "?") s, the fourth's after \(fourth["secondsToVideo"] ?? "?") s")

            // The reload: same tiles, a new code agreed by all, the chat back from the history.
            let reload = try #require(result["reload"] as? [String: Any])
            #expect(reload["sameTiles"] as? Bool == true, "\(reload)")
            #expect((reload["address"] as? String)?.hasSuffix("/j/") == true, "\(reload["address"] ?? "")")
            #expect((reload["code"] as? String).map { $0 != fourth["code"] as? String } == true)
            #expect((reload["messages"] as? [String])?.count == 3, "\(reload["messages"] ?? "")")
            #expect(result["resourceHosts"] as? [String] == ["localhost:\(server.port)"])
            #expect(await script.finish() == 0)
        }
    }
}
