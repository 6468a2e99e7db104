import ArgumentParser
import SamromCore

@main
struct Samrom: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "samrom",
        abstract: "Private video and chat consultations for health services bound by taushetsplikt.",
        subcommands: [Serve.self, DoctorCommand.self, User.self, Audit.self, Purge.self, Stats.self],
        defaultSubcommand: Serve.self)
}

/// `--data-dir` and `--store`, shared by every subcommand.
struct DataOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Where the database, keys and generated certificates live.")
    var dataDirectory: String = "data"
    @Option(
        name: .customLong("store"),
        help: "sqlite (the default: a database in the data directory) or postgres://user@host:port/database, shared by several instances.")
    var storeText: String?
    @Option(
        name: .customLong("store-password-file"),
        help: "A file holding the PostgreSQL password (mode 0600), so that it is not on the command line or in the URL.")
    var storePasswordFile: String?

    var store: StoreLocation { (try? StoreLocation(storeText)) ?? .sqlite }

    func validate() throws {
        let location = try StoreLocation(storeText)
        if storePasswordFile != nil, location == .sqlite {
            throw ValidationError("--store-password-file goes with --store postgres://…")
        }
    }

    /// The store alone, for commands that only read it; closed when
    /// `body` returns or throws (a PostgreSQL store lets its connections
    /// and the audit signing turn go).
    func withStore<T>(_ body: (any SamromStorage) async throws -> T) async throws -> T {
        let opened = try await store.open(dataDirectory: dataDirectory, passwordFile: storePasswordFile)
        do {
            let result = try await body(opened)
            await StoreLocation.close(opened)
            return result
        } catch {
            await StoreLocation.close(opened)
            throw error
        }
    }
}
