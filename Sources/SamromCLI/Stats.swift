import ArgumentParser
import Foundation
import SamromCore
import SamromServer

/// `samrom stats --month YYYY-MM`: the centre's anonymous figures for the
/// annual report, as text or CSV (`MonthlyFigures`; counts under 5 print
/// as "under 5"). The read is audited like the leder's page.
struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the centre's anonymous figures for a month (counts under 5 print as \"under 5\").")
    @Option(help: "The month, as YYYY-MM.") var month: String
    @Option(help: "text or csv.") var format: String = "text"
    @Option(name: .customLong("time-zone"), help: "The centre's time zone: where the month begins and ends (default Europe/Oslo).")
    var timeZone: String = "Europe/Oslo"
    @Option(help: "The labels' language: nb or en.") var language: String = "nb"
    @OptionGroup var data: DataOptions

    func validate() throws {
        guard ReportMonth(month) != nil else { throw ValidationError("--month must be a month as YYYY-MM, like 2026-11") }
        guard ["text", "csv"].contains(format) else { throw ValidationError("--format must be text or csv") }
        guard TimeZone(identifier: timeZone) != nil else { throw ValidationError("--time-zone must be a time zone name such as Europe/Oslo") }
        guard Language(rawValue: language) != nil else { throw ValidationError("--language must be nb or en") }
    }

    func run() async throws {
        guard let month = ReportMonth(month), let zone = TimeZone(identifier: timeZone), let language = Language(rawValue: language)
        else { throw CLIError("invalid options") }
        try await withApp(data) { app in
            let figures = try await app.figures.figures(month: month, timeZone: zone, owner: nil, reader: .system, clientIP: nil)
            try await app.auditLog.checkpoint()
            let text = format == "csv" ? figures.csv(language: language) : figures.text(language: language)
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}
