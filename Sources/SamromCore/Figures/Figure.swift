import Foundation

/// A figure as it may be shown: small numbers never are.
public enum FigureValue: Sendable, Equatable, Encodable {
    /// 0, or 5 and more (a median in minutes: any number).
    case count(Int)
    /// A count of 1 to 4: shown as "under 5" so that nobody can be picked out.
    case underFive
    /// Withheld: a count that would let someone work out a count under 5
    /// (complementary suppression), or a median of fewer than 5 calls.
    case notShown

    /// What the text, the CSV file and the page show: the number, "under 5"
    /// (the same in both languages), or "not shown" / "vises ikke".
    public func text(_ language: Language) -> String {
        switch self {
        case .count(let n): String(n)
        case .underFive: "under 5"
        case .notShown: language == .nb ? "vises ikke" : "not shown"
        }
    }

    /// JSON: an integer, the string "under 5", or null.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .count(let n): try container.encode(n)
        case .underFive: try container.encode("under 5")
        case .notShown: try container.encodeNil()
        }
    }

    /// 1...4 is "under 5"; 0 and 5 and more are shown as they are (0 picks
    /// out nobody).
    public static func protected(_ count: Int) -> FigureValue {
        (1...4).contains(count) ? .underFive : .count(count)
    }
}

/// The figures, in the order they are shown. The raw values are stable keys
/// for the JSON, the CSV file and the page.
public enum FigureKey: String, Sendable, CaseIterable, Encodable {
    case booked, held, video, soundOnly, withTolk, groupCalls
    case groupSize3, groupSize4, groupSize5, groupSize6
    case noShows, medianMinutes

    public func label(_ language: Language) -> String {
        switch language {
        case .nb:
            switch self {
            case .booked: "Samtaler med bestilt tid"
            case .held: "Samtaler gjennomført"
            case .video: "Med video"
            case .soundOnly: "Bare lyd"
            case .withTolk: "Med tolk"
            case .groupCalls: "Gruppesamtaler"
            case .groupSize3: "Gruppesamtaler med 3 personer"
            case .groupSize4: "Gruppesamtaler med 4 personer"
            case .groupSize5: "Gruppesamtaler med 5 personer"
            case .groupSize6: "Gruppesamtaler med 6 personer eller flere"
            case .noShows: "Ikke møtt (bestilt, aldri banket på)"
            case .medianMinutes: "Median lengde på samtalene (minutter)"
            }
        case .en:
            switch self {
            case .booked: "Consultations with a booked time"
            case .held: "Calls held"
            case .video: "With video"
            case .soundOnly: "Sound only"
            case .withTolk: "With an interpreter (tolk)"
            case .groupCalls: "Group calls"
            case .groupSize3: "Group calls, 3 people"
            case .groupSize4: "Group calls, 4 people"
            case .groupSize5: "Group calls, 5 people"
            case .groupSize6: "Group calls, 6 people or more"
            case .noShows: "No-shows (booked, never knocked)"
            case .medianMinutes: "Median call length (minutes)"
            }
        }
    }
}

/// One figure of a month.
public struct Figure: Sendable, Equatable {
    public var key: FigureKey
    public var value: FigureValue

    public init(key: FigureKey, value: FigureValue) {
        self.key = key
        self.value = value
    }

    public func label(_ language: Language) -> String { key.label(language) }
}
