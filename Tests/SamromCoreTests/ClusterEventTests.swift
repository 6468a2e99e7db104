import SamromCore
import Testing

/// The one-line wire form of `ClusterEvent` (issue 14) that instances send
/// each other over NOTIFY: every event survives it, and anything else a
/// payload might hold is refused (nil), never fatal.
@Suite struct ClusterEventTests {
    static let id = sampleID
    static let events: [ClusterEvent] = [
        .consultationEnded(id),
        .linkReplaced(id, .deltaker),
        .linkReplaced(id, .tolk),
        .accountDisabled(AccountID(rawValue: 1)),
        .accountDisabled(AccountID(rawValue: 0)),
        .accountDisabled(AccountID(rawValue: 9_007_199_254_740_993)),
        .accountDisabled(AccountID(rawValue: .max)),
        .accountDisabled(AccountID(rawValue: .min)),
    ]
    /// Holders as `Instance` makes them (name, a slash, a base64url boot id), and shorter ones.
    static let holders = ["a/AbCd-_12", "samrom-1.example_2/xyzXYZ09", "b", "a/"]

    @Test func theSampleIdIsWellFormed() {
        #expect(ConsultationID.isWellFormed(Self.id.rawValue))
    }

    @Test(arguments: events) func everyEventRoundTrips(event: ClusterEvent) throws {
        for holder in Self.holders {
            let payload = event.payload(from: holder)
            let parsed = try #require(ClusterEvent.parse(payload), "\(payload)")
            #expect(parsed.0 == event)
            #expect(parsed.from == holder)
            #expect(!payload.contains("\n"))
        }
    }

    @Test func theWireFormIsAsDocumented() {
        let id = Self.id.rawValue
        #expect(ClusterEvent.consultationEnded(Self.id).payload(from: "a/1") == "a/1 ended \(id)")
        #expect(ClusterEvent.linkReplaced(Self.id, .tolk).payload(from: "a/1") == "a/1 link \(id) tolk")
        #expect(ClusterEvent.accountDisabled(AccountID(rawValue: 42)).payload(from: "a/1") == "a/1 account 42")
    }

    @Test(arguments: [
        // Empty, or too short.
        "", " ", "  ", "a", "a/1", "a/1 ", "a/1 ended", "a/1 ended ", "a/1 link", "a/1 account", "a/1 account ",
        // No holder.
        " ended \(id.rawValue)", " account 5", "ended \(id.rawValue)",
        // Unknown verbs, or known ones spelled otherwise.
        "a/1 closed \(id.rawValue)", "a/1 ENDED \(id.rawValue)", "a/1 Ended \(id.rawValue)", "a/1 end \(id.rawValue)",
        "a/1 accounts 5", "a/1 links \(id.rawValue) tolk", "a/1 \(id.rawValue) ended",
        // Bad consultation ids: short, long, not base64url, padded, empty.
        "a/1 ended abc", "a/1 ended \(id.rawValue)A", "a/1 ended \(id.rawValue.dropLast())",
        "a/1 ended AAAAAAAAAAAAAAAAAAAA!!", "a/1 ended AAAAAAAAAAAAAAAAAAAA==", "a/1 ended AAAAAAAAAAAAAAAAAAAA+/",
        "a/1 link abc tolk", "a/1 link  tolk", "a/1 link \(id.rawValue)x deltaker",
        // Bad roles: the veileder is never invited by a link; unknown or differently spelled ones.
        "a/1 link \(id.rawValue) veileder", "a/1 link \(id.rawValue) Tolk", "a/1 link \(id.rawValue) DELTAKER",
        "a/1 link \(id.rawValue) host", "a/1 link \(id.rawValue) ", "a/1 link \(id.rawValue)",
        // Accounts that are not a number as `payload` writes one.
        "a/1 account abc", "a/1 account 1.5", "a/1 account 0x10", "a/1 account 1e3", "a/1 account 5a",
        "a/1 account 99999999999999999999", "a/1 account -99999999999999999999", "a/1 account +5", "a/1 account 05",
        "a/1 account -0", "a/1 account ٣", "a/1 account -", "a/1 account +",
        // Extra fields, trailing or doubled separators.
        "a/1 ended \(id.rawValue) more", "a/1 ended \(id.rawValue) ", "a/1  ended \(id.rawValue)",
        "a/1 ended  \(id.rawValue)", "a/1 link \(id.rawValue) tolk extra", "a/1 link \(id.rawValue) tolk ",
        "a/1 link \(id.rawValue)  tolk", "a/1 account 5 6", "a/1 account 5 ",
        // A holder with a space in it is two fields.
        "a 1 ended \(id.rawValue)", "a 1 link \(id.rawValue) tolk", "a 1 account 5",
        // Other whitespace is not a separator.
        "a/1\tended \(id.rawValue)", "a/1 ended\t\(id.rawValue)", "a/1 ended \(id.rawValue)\n", "a/1 account 5\n",
    ])
    func malformedPayloadsAreRefused(payload: String) {
        #expect(ClusterEvent.parse(payload) == nil)
    }

    /// A holder with a space cannot be sent: what `payload` makes of it parses to nothing.
    @Test(arguments: events) func aHolderWithASpaceIsRefused(event: ClusterEvent) {
        for holder in ["a b", "a/1 ", " a/1", "x ended", "x link", "x account", "h \(Self.id.rawValue)"] {
            #expect(ClusterEvent.parse(event.payload(from: holder)) == nil, "\(event.payload(from: holder))")
        }
    }

    /// A link for the veileder is not an event the wire can carry.
    @Test func aVeilederLinkIsNotAnEvent() {
        #expect(ClusterEvent.parse(ClusterEvent.linkReplaced(Self.id, .veileder).payload(from: "a/1")) == nil)
    }

    /// Payloads near the valid ones (a character deleted, inserted or
    /// replaced, fields swapped) and arbitrary text: nothing crashes, and
    /// whatever parses is exactly what `payload` writes for it.
    @Test func mutatedPayloadsParseOnlyToThemselves() {
        var random = SplitMix(seed: 0x5a3d_2c17)
        let alphabet = Array("aA0 9+-_/=.\t\nzZéٍ٣\u{0}") + ["ended", "link", "account", "tolk", "veileder", "deltaker"].flatMap { Array($0) }
        var parsed = 0
        var tried = 0
        for event in Self.events {
            for holder in Self.holders {
                let valid = Array(event.payload(from: holder))
                for _ in 0..<400 {
                    var text = valid
                    for _ in 0..<(1 + random.next(3)) {
                        switch random.next(4) {
                        case 0 where !text.isEmpty: text.remove(at: random.next(text.count))
                        case 1: text.insert(alphabet[random.next(alphabet.count)], at: random.next(text.count + 1))
                        case 2 where !text.isEmpty: text[random.next(text.count)] = alphabet[random.next(alphabet.count)]
                        default:
                            var fields = String(text).split(separator: " ", omittingEmptySubsequences: false)
                            if fields.count > 1 { fields.swapAt(random.next(fields.count), random.next(fields.count)) }
                            text = Array(fields.joined(separator: " "))
                        }
                    }
                    let payload = String(text)
                    tried += 1
                    if let (event, from) = ClusterEvent.parse(payload) {
                        parsed += 1
                        #expect(event.payload(from: from) == payload)
                    }
                }
            }
        }
        // Arbitrary text of the same characters.
        for _ in 0..<5_000 {
            let payload = String((0..<random.next(60)).map { _ in alphabet[random.next(alphabet.count)] })
            if let (event, from) = ClusterEvent.parse(payload) { #expect(event.payload(from: from) == payload) }
        }
        // Some mutations are still valid events (another holder, another id): both paths ran.
        #expect(parsed > 0 && parsed < tried)
    }

    @Test func longPayloadsAreRefused() {
        #expect(ClusterEvent.parse(String(repeating: "a", count: 100_000)) == nil)
        #expect(ClusterEvent.parse("a/1 account " + String(repeating: "9", count: 10_000)) == nil)
        #expect(ClusterEvent.parse("a/1 ended " + String(repeating: "A", count: 10_000)) == nil)
        #expect(ClusterEvent.parse(String(repeating: "a ", count: 10_000)) == nil)
    }
}

/// A well-formed consultation id (22 base64url characters, 16 bytes).
private let sampleID = ConsultationID(rawValue: "q3vZ8kLm0Pz-_xYc1d2E4g")
private let id = sampleID

/// A small deterministic generator: the same cases on every run.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in 0..<bound.
    mutating func next(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
