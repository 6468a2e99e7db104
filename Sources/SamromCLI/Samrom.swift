import ArgumentParser

@main
struct Samrom: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "samrom",
        abstract: "Private video and chat consultations for health services bound by taushetsplikt.",
        subcommands: [Serve.self, User.self, Audit.self, Purge.self],
        defaultSubcommand: Serve.self)
}

/// `--data-dir`, shared by every subcommand.
struct DataOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Where the database, keys and generated certificates live.")
    var dataDirectory: String = "data"
}
