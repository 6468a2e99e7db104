import Foundation

/// The month's figures as the page's JSON, a CSV file for the annual report,
/// and plain text for `samrom stats`. Every form shows the protected values
/// only: a count under 5 is "under 5" in all of them.
extension MonthlyFigures {
    /// The JSON body of `GET /api/stats`:
    /// `{"month":"2026-11","scope":"centre","figures":[{"key":"held","label":"Samtaler gjennomført","value":12}, …]}`,
    /// `value` an integer, the string "under 5", or null (not shown).
    public struct Report: Sendable, Equatable, Encodable {
        public struct Entry: Sendable, Equatable, Encodable {
            public var key: FigureKey
            public var label: String
            public var value: FigureValue
        }

        public var month: String
        public var scope: String
        public var figures: [Entry]
    }

    public func report(language: Language) -> Report {
        Report(
            month: month.description, scope: scope.name,
            figures: figures.map { Report.Entry(key: $0.key, label: $0.label(language), value: $0.value) })
    }

    /// The header line of `csv(language:)`, CRLF included.
    public static let csvHeader = "month,figure,value,description\r\n"

    /// RFC 4180 (UTF-8, CRLF line ends, quoted where needed): one row per
    /// figure, `2026-11,held,12,Samtaler gjennomført`; the value is the
    /// number, "under 5" or "vises ikke"/"not shown", the description the label.
    public func csv(language: Language) -> String {
        figures.reduce(into: Self.csvHeader) { text, figure in
            text += AuditCSV.row([month.description, figure.key.rawValue, figure.value.text(language), figure.label(language)])
        }
    }

    /// For the terminal: a title, one aligned line per figure, and what
    /// "under 5" and "not shown" mean.
    public func text(language: Language) -> String {
        let whose: String
        switch (scope, language) {
        case (.centre, .nb): whose = "hele sentret"
        case (.centre, .en): whose = "the whole centre"
        case (.veileder(let id), .nb): whose = "veileder \(id)"
        case (.veileder(let id), .en): whose = "veileder \(id)"
        }
        let zone = timeZone.identifier
        let title =
            language == .nb
            ? "Anonyme tall for \(month) (\(zone)), \(whose)" : "Anonymous figures for \(month) (\(zone)), \(whose)"
        let labels = figures.map { $0.label(language) }
        let width = labels.map(\.count).max() ?? 0
        var lines = [title, ""]
        for (figure, label) in zip(figures, labels) {
            lines.append(label + String(repeating: " ", count: width - label.count) + "  " + figure.value.text(language))
        }
        lines.append("")
        lines.append(
            language == .nb
                ? "Tall fra 1 til 4 vises som «under 5». «vises ikke»: holdt tilbake så ingen kan regne seg fram til et tall under 5, eller en median av færre enn 5 samtaler."
                : "Counts from 1 to 4 are shown as \"under 5\". \"not shown\": withheld so that nobody can work out a count under 5, or a median of fewer than 5 calls.")
        return lines.joined(separator: "\n") + "\n"
    }
}
