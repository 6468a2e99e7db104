import Foundation
import Testing

extension BrowserInteropTests {
    /// What makes a call trustworthy beyond the call code, in real headless
    /// Chromium (Tests/Browser/trust_flow.py), on the server's own page:
    /// - lib/rtc.js's fingerprint check: its pure comparison on a table; two
    ///   RTCPeerConnections connected over loopback, where the SHA-256 of the
    ///   certificate DTLS delivered is the fingerprint in the other's SDP (and
    ///   what its RTCCertificate reports), and one digit changed does not
    ///   match; two Calls say `fingerprint` {ok: true} once each, and a
    ///   tampered offer never connects nor claims a fingerprint;
    /// - lib/room.js's "Koden stemmer": markChecked records the code's key set
    ///   in IndexedDB, the next session with the same keys is checked at once,
    ///   a changed key says the code must be checked again (by role) and the
    ///   new code is not checked; the page's call-code paragraph follows it;
    ///   forgetConsultation deletes the record.
    @Test(.enabled(if: available, "runs under `make test`: Chromium in a loopback-only network namespace"))
    func theDTLSFingerprintAndTheCheckedCodeAreTrustedOnlyWhenTheyHold() async throws {
        try await withServer { server in
            let script = try BrowserScript("trust_flow.py", ["https://localhost:\(server.port)"])
            let result = try await script.next()

            // The comparison, on a table: null when there is nothing to compare with SHA-256.
            let table = try #require(result["table"] as? [String: Any])
            let expected: [String: String] = [
                "match": "true", "mediaLevel": "true", "mismatch": "false", "sha384Only": "null", "sha384AndSha256": "true",
                "severalOneMatches": "true", "severalNoneMatches": "false", "lowerCaseSdp": "true", "upperCaseAlgorithm": "true",
                "digestAsBytes": "true", "digestAsArrayBuffer": "true", "onlyTheLeafCounts": "false", "noCertificate": "null",
                "noFingerprint": "null", "malformed": "null", "tooShort": "null",
            ]
            #expect(Set(table.keys) == Set(expected.keys), "\(table)")
            for (name, want) in expected {
                #expect(Self.canonical(table[name]) == want, "\(name)")
            }

            // Real certificates over a real DTLS handshake.
            let loopback = try #require(result["loopback"] as? [String: Any])
            #expect(loopback["certificates"] as? Int == 1, "\(loopback)")
            for key in ["dtlsEqualsSdp", "dtlsEqualsCertificate", "parsed", "matches", "matchesHex", "tamperedChanged", "checkA", "checkB"] {
                #expect(loopback[key] as? Bool == true, "\(key): \(loopback)")
            }
            #expect(loopback["tampered"] as? Bool == false, "\(loopback)")
            #expect(loopback["ownFingerprint"] as? Bool == false, "\(loopback)")

            // The Call says it once per connection; a tampered offer never connects.
            let calls = try #require(result["calls"] as? [String: Any])
            let events = try #require(calls["events"] as? [String: [[String: Any]]])
            for side in ["a", "b"] {
                #expect(events[side]?.count == 1 && events[side]?.first?["ok"] as? Bool == true, "\(side): \(calls)")
                #expect((calls["property"] as? [String: Any])?[side] as? Bool == true, "\(side): \(calls)")
            }
            let tampered = try #require(result["tamperedCall"] as? [String: Any])
            #expect(tampered["failed"] as? Bool == true, "\(tampered)")
            #expect(Self.canonical(tampered["connected"]) == #"{"a":false,"b":false}"#, "\(tampered)")
            #expect(Self.canonical(tampered["events"]) == #"{"a":[],"b":[]}"#, "\(tampered)")
            #expect(Self.canonical(tampered["property"]) == #"{"a":"undefined","b":"undefined"}"#, "\(tampered)")

            try Self.expectCheckedCode(try #require(result["checked"] as? [String: Any]))
            #expect(result["resourceHosts"] as? [String] == ["localhost:\(server.port)"])
            #expect(await script.finish() == 0)
        }
    }

    /// A JSON value as text with sorted keys, to compare with what is expected.
    static func canonical(_ value: Any?) -> String {
        guard let value, let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]) else { return "missing" }
        return String(decoding: data, as: UTF8.self)
    }

    static func expectCheckedCode(_ checked: [String: Any]) throws {
        // Session 1: not checked; nothing to mark before a code; marking records this K.
        let first = try #require(checked["first"] as? [String: Any])
        #expect(first["markedBeforeCode"] as? Bool == false, "\(first)")
        #expect(first["checked"] as? Bool == false, "\(first)")
        for key in ["keysAreK", "sameCodeAsPeer", "marked", "eventMatches", "currentChecked"] {
            #expect(first[key] as? Bool == true, "\(key): \(first)")
        }
        #expect(first["events"] as? Int == 1, "\(first)")
        #expect(Self.canonical(checked["stored"]) == #"{"list":true,"version":3}"#)

        // Session 2: the same keys, a new code, checked without asking; `audio` only when a boolean.
        let second = try #require(checked["second"] as? [String: Any])
        #expect(Self.canonical(second) == #"{"checked":true,"newCode":true,"sameCodeAsPeer":true}"#)
        #expect(Self.canonical(checked["media"]) == "[" + [
            #"{"audio":false,"from":"p-b","video":true}"#,
            #"{"audio":"absent","from":"p-b","video":false}"#,
            #"{"audio":"absent","from":"p-b","video":true}"#,
        ].joined(separator: ",") + "]")

        // Session 3: checked at once, then the deltaker's key changes: check again.
        let third = try #require(checked["third"] as? [String: Any])
        #expect(third["checkedAtOnce"] as? Bool == true, "\(third)")
        #expect(Self.canonical(third["keyChanges"]) == #"[{"checkedBefore":true,"previousKeyId":true,"role":"deltaker"}]"#)
        #expect(third["newKeyChecked"] as? Bool == false && third["newKeysDiffer"] as? Bool == true, "\(third)")
        let ui = try #require(third["ui"] as? [String: [String: Any]])
        let waiting = try #require(ui["waiting"]), again = try #require(ui["again"])
        let afterChange = try #require(ui["afterChange"]), afterConfirm = try #require(ui["afterConfirm"])
        #expect(waiting["code"] as? String == "venter på den andre" && waiting["confirm"] as? Bool == false && waiting["verified"] as? Bool == false, "\(waiting)")
        #expect((again["code"] as? String)?.range(of: #"^\d{4} \d{4} \d{4}$"#, options: .regularExpression) != nil, "\(again)")
        #expect(again["confirm"] as? Bool == false && again["verified"] as? Bool == true && again["keyWarning"] is NSNull, "\(again)")
        // Announcements a moment apart are said together (lib/ui.js): each is looked for in what was said.
        #expect((again["status"] as? String)?.hasSuffix("Samtalekoden er kontrollert før, med de samme nøklene.") == true, "\(again)")
        let recheck = "Deltakeren har fått ny nøkkel etter at dere kontrollerte samtalekoden. Koden må kontrolleres på nytt: les den høyt for hverandre før dere sier eller skriver noe privat."
        #expect(afterChange["confirm"] as? Bool == true && afterChange["verified"] as? Bool == false, "\(afterChange)")
        #expect(afterChange["keyWarning"] as? String == recheck && (afterChange["status"] as? String)?.contains(recheck) == true, "\(afterChange)")
        #expect(afterChange["code"] as? String != again["code"] as? String, "\(afterChange)")
        #expect(afterConfirm["confirm"] as? Bool == false && afterConfirm["verified"] as? Bool == true && afterConfirm["keyWarning"] is NSNull, "\(afterConfirm)")
        #expect((afterConfirm["status"] as? String)?.hasSuffix("Samtalekoden er kontrollert. Denne enheten husker det så lenge ingen får ny nøkkel.") == true, "\(afterConfirm)")

        // The consultation ended on this device: the record goes with the keys.
        #expect(Self.canonical(checked["forgotten"]) == #"{"after":"absent","deviceKey":"absent","listedBefore":2}"#)
    }
}
