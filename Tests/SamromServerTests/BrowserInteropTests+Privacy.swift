import Foundation
import SamromCore
import SamromServer
import Testing

extension BrowserInteropTests {
    static let privacyNotice = "https://kommune.example/personvern"
    static let accessibilityStatement = "https://uustatus.no/nb/erklaringer/publisert/x"

    /// What the pages tell before anyone joins, from the running configuration
    /// (Tests/Browser/privacy_flow.py): the deltaker's welcome says how sound
    /// and video travel, that nothing is recorded, how long the sealed chat
    /// and the access log are kept (7 days, 2 years), links to the privacy
    /// notice and asks about others in the room, in bokmål and English, on a
    /// phone's screen; every page's footer links to the privacy notice and the
    /// accessibility statement; the veileder's room has its own reminder.
    /// Every screen passes axe-core.
    @Test(.enabled(if: available, "runs under `make test`: Chromium in a loopback-only network namespace"))
    func thePagesTellTheConfiguredPrivacyFacts() async throws {
        try await withServer({
            $0.chatRetention = 7 * 86_400
            $0.auditRetention = 730 * 86_400
            $0.privacyNoticeURL = Self.privacyNotice
            $0.accessibilityStatementURL = Self.accessibilityStatement
        }) { server in
            try await server.addUser("kari", role: .veileder, password: "a good long password")
            let script = try BrowserScript("privacy_flow.py", ["https://localhost:\(server.port)", "kari", "a good long password", "configured"])
            let result = try await script.next()
            #expect(result["error"] == nil, "\(result["error"] ?? "")")
            #expect(result["axe"] as? [String] == [], "\(result["axe"] ?? "")")

            let nb = try #require(result["welcome"] as? [String: Any])
            let facts = nb["facts"] as? [String] ?? []
            #expect(facts.count == 4, "\(facts)")
            #expect(facts.first?.hasPrefix("Lyd og bilde går direkte mellom nettleserne") == true, "\(facts)")
            #expect(facts.contains("Ingenting blir tatt opp, verken lyd eller bilde."), "\(facts)")
            #expect(facts.contains { $0.contains("kryptert på enhetene") && $0.contains("7 dager etter") }, "\(facts)")
            #expect(facts.contains { $0.contains("hvem som kom inn") && $0.hasSuffix("i 2 år.") }, "\(facts)")
            #expect(nb["heading"] as? String == "Slik foregår samtalen")
            #expect((nb["welcomeText"] as? String)?.contains("direkte mellom deg og veilederen") == false)
            #expect(nb["privacyLink"] as? [String: String] == [
                "text": "Les mer i kommunens personvernerklæring", "href": Self.privacyNotice, "rel": "noopener noreferrer",
            ], "\(nb["privacyLink"] ?? "")")
            #expect(nb["reminder"] as? String == "Er det noen andre i rommet hos deg? Si fra til veilederen når samtalen begynner.")
            #expect(nb["fitsWidth"] as? Bool == true, "the welcome is wider than a phone's screen")

            let en = try #require(result["welcomeEn"] as? [String: Any])
            let factsEn = en["facts"] as? [String] ?? []
            #expect(en["lang"] as? String == "en" && en["heading"] as? String == "How the call works")
            #expect(factsEn.contains { $0.contains("7 days after") } && factsEn.contains { $0.hasSuffix("for 2 years.") }, "\(factsEn)")
            #expect((en["privacyLink"] as? [String: String])?["text"] == "Read more in the municipality's privacy notice")
            #expect(en["reminder"] as? String == "Is anyone else in the room with you? Tell the counsellor when the call starts.")
            let footerEn = (en["footer"] as? [String: Any])?["links"] as? [[String: String]] ?? []
            #expect(footerEn.map { $0["text"] ?? "" } == ["Privacy notice", "Accessibility statement"], "\(footerEn)")

            // Every page: one footer outside <main>, both links, opened in the same tab.
            let footers = try #require(result["footers"] as? [String: [String: Any]])
            #expect(Set(footers.keys) == ["/", "/j/", "/audit/", "/leder/"], "\(footers.keys)")
            for (page, footer) in footers {
                #expect(footer["count"] as? Int == 1 && footer["outsideMain"] as? Bool == true, "\(page): \(footer)")
                let links = footer["links"] as? [[String: String]] ?? []
                #expect(links == [
                    ["text": "Personvernerklæring", "href": Self.privacyNotice, "rel": "noopener noreferrer", "target": ""],
                    ["text": "Tilgjengelighetserklæring", "href": Self.accessibilityStatement, "rel": "noopener noreferrer", "target": ""],
                ], "\(page): \(links)")
            }
            // From the call, the links open in a new tab (the call goes on) and say so.
            let room = (result["roomFooter"] as? [String: Any])?["links"] as? [[String: String]] ?? []
            #expect(room.count == 2 && room.allSatisfy { $0["target"] == "_blank" && $0["text"]?.hasSuffix("(åpnes i ny fane)") == true }, "\(room)")
            #expect(result["roomReminder"] as? String == "Husk å si fra til deltakeren hvis andre er i rommet hos deg.")
            #expect(result["resourceHosts"] as? [String] == ["localhost:\(server.port)"])
            #expect(await script.finish() == 0)
        }
    }

    /// Without configured links: the default retention (30 days, 5 years) in
    /// words, and no footer at all (no empty landmark).
    @Test(.enabled(if: available, "runs under `make test`: Chromium in a loopback-only network namespace"))
    func thePagesTellTheDefaultPrivacyFactsWithoutLinks() async throws {
        try await withServer { server in
            try await server.addUser("kari", role: .veileder, password: "a good long password")
            let script = try BrowserScript("privacy_flow.py", ["https://localhost:\(server.port)", "kari", "a good long password", "defaults"])
            let result = try await script.next()
            #expect(result["error"] == nil, "\(result["error"] ?? "")")
            let welcome = try #require(result["welcome"] as? [String: Any])
            let facts = welcome["facts"] as? [String] ?? []
            #expect(facts.contains { $0.contains("30 dager etter") } && facts.contains { $0.hasSuffix("i 5 år.") }, "\(facts)")
            #expect(welcome["privacyLink"] is NSNull, "\(welcome["privacyLink"] ?? "")")
            #expect(welcome["reminder"] as? String == "Er det noen andre i rommet hos deg? Si fra til veilederen når samtalen begynner.")
            let footers = try #require(result["footers"] as? [String: [String: Any]])
            #expect(footers.count == 4 && footers.values.allSatisfy { $0["count"] as? Int == 0 }, "\(footers)")
            #expect(await script.finish() == 0)
        }
    }
}
