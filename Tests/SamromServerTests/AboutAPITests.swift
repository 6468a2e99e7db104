import Foundation
import NIOHTTP1
import SamromCore
import SamromServer
import Testing

/// `GET /api/about`: what the pages tell people before they join comes from
/// the running configuration, so it changes with the flags, and is the same
/// for everyone without a session.
@Suite struct AboutAPITests {
    @Test func theFactsAreTheDefaultsWithoutFlags() async throws {
        try await withServer { server in
            let reply = try await HTTPTestClient(server).request(.GET, "/api/about")
            #expect(reply.status == 200)
            let facts = try JSONDecoder().decode(PrivacyFacts.self, from: Data(reply.body.utf8))
            #expect(facts == PrivacyFacts(mediaPath: .direct, chatRetentionDays: 30, auditRetentionDays: 1826))
            // Absent links are null, not missing.
            #expect(reply.json["privacyNoticeUrl"] == .null && reply.json["accessibilityStatementUrl"] == .null, "\(reply.body)")
        }
    }

    @Test func theFactsFollowTheConfiguration() async throws {
        let secretFile = FileManager.default.temporaryDirectory.appendingPathComponent("about-turn-\(UUID().uuidString)")
        try Data("a-long-shared-secret-for-coturn-tests".utf8).write(to: secretFile)
        defer { try? FileManager.default.removeItem(at: secretFile) }
        for (policy, path) in [(IceTransportPolicy.all, PrivacyFacts.MediaPath.relayWhenNeeded), (.relay, .relayAlways)] {
            try await withServer({
                $0.chatRetention = 7 * 86_400
                $0.auditRetention = 730 * 86_400
                $0.turnURLs = ["turns:turn.kommune.example:443?transport=tcp"]
                $0.turnSecretFile = secretFile.path
                $0.iceTransportPolicy = policy
                $0.privacyNoticeURL = "https://kommune.example/personvern"
                $0.accessibilityStatementURL = "https://uustatus.no/nb/erklaringer/publisert/samrom"
            }) { server in
                let reply = try await HTTPTestClient(server).request(.GET, "/api/about")
                #expect(reply.status == 200)
                let facts = try JSONDecoder().decode(PrivacyFacts.self, from: Data(reply.body.utf8))
                #expect(facts == PrivacyFacts(
                    mediaPath: path, chatRetentionDays: 7, auditRetentionDays: 730,
                    privacyNoticeUrl: "https://kommune.example/personvern",
                    accessibilityStatementUrl: "https://uustatus.no/nb/erklaringer/publisert/samrom"))
                // Nothing about the TURN server's secret or address.
                #expect(!reply.body.contains("turn.kommune.example") && !reply.body.contains("secret"))
            }
        }
    }

    @Test func onlyHTTPSLinksThatCannotBreakOutOfAnAttributeAreShown() {
        #expect(PrivacyFacts.isValidLink("https://kommune.example/personvern"))
        #expect(PrivacyFacts.isValidLink("https://uustatus.no/nb/erklaringer/publisert/6f1d7a2e-1c2b"))
        for bad in [
            "http://kommune.example/personvern", "https://", "https:///path", "javascript:alert(1)",
            "https://kommune.example/\"><script>", "https://kommune.example/a b", "https://kommune.example/\u{7}",
            "https://kommune.example/" + String(repeating: "a", count: 600), "ftp://kommune.example",
        ] {
            #expect(!PrivacyFacts.isValidLink(bad), "\(bad)")
        }
    }
}
