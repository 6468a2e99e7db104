import ArgumentParser
import Foundation
import Logging
import SamromCore
import SamromServer
import SamromStore
import Sodium

struct User: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage accounts.", subcommands: [Add.self, List.self, Disable.self, ResetSecondFactor.self, LinkIdentity.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an account; the password is read from standard input (one line), or asked for twice, unechoed, on a terminal.")

        @Option(help: "1–64 of a–z, 0–9, '.', '_', '-'.") var username: String
        @Option(help: "veileder, privacy-officer, admin or leder (the centre's anonymous figures only).") var role: String
        @OptionGroup var data: DataOptions

        func validate() throws {
            guard AccountRole(rawValue: role) != nil else {
                throw ValidationError("--role must be veileder, privacy-officer, admin or leder")
            }
            guard Account.normalisedUsername(username) != nil else {
                throw ValidationError("--username must be 1–64 of a–z, 0–9, '.', '_' and '-'")
            }
        }

        func run() async throws {
            try await withApp(data) { app in
                let password = try PasswordInput.read(for: username)
                do {
                    let account = try await app.accounts.create(
                        username: username, role: AccountRole(rawValue: role)!, password: password)
                    // The change is signed into the log at once, not at the next server start.
                    try await app.auditLog.checkpoint()
                    say("Added \(account.username) (\(account.role.rawValue)).")
                } catch let failure as AccountService.Failure {
                    throw CLIError(failure.message)
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List accounts.")
        @OptionGroup var data: DataOptions

        func run() async throws {
            try await withApp(data) { app in
                let accounts = try await app.accounts.list()
                if accounts.isEmpty { say("No accounts.") }
                for account in accounts {
                    let state = account.isDisabled ? "disabled" : "active"
                    say("\(account.username)\t\(account.role.rawValue)\t\(state)")
                }
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable an account and end its sessions.")
        @Argument(help: "The username.") var username: String
        @OptionGroup var data: DataOptions

        func run() async throws {
            try await withApp(data) { app in
                guard try await app.accounts.disable(username: username) else {
                    throw CLIError("no account named \(username)")
                }
                // Instances on a shared store close its open calls at once.
                if let name = Account.normalisedUsername(username), let account = try await app.store.account(username: name) {
                    await app.cluster.announce(.accountDisabled(account.id))
                }
                try await app.auditLog.checkpoint()
                say("Disabled \(username.lowercased()).")
            }
        }
    }

    struct LinkIdentity: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "link-identity",
            abstract: "Link an account to its value of the identity provider's claim (--oidc-claim), so it can log in there; the role stays the account's.")
        @Argument(help: "The username.") var username: String
        @Argument(help: "The claim's value, e.g. kari.nordmann@testby.kommune.no (matched without regard to case).") var value: String?
        @Flag(help: "Remove the account's link instead.") var remove = false
        @OptionGroup var data: DataOptions

        func validate() throws {
            guard remove == (value == nil) else { throw ValidationError("give a value to link, or --remove") }
            if let value, Account.normalisedIdentity(value) == nil {
                throw ValidationError("the value must be 1 to 256 bytes without control characters")
            }
        }

        func run() async throws {
            try await withApp(data) { app in
                guard let name = Account.normalisedUsername(username), let account = try await app.store.account(username: name) else {
                    throw CLIError("no account named \(username)")
                }
                let identity = value.flatMap(Account.normalisedIdentity)
                do {
                    guard try await app.store.linkIdentity(identity, to: account.id) else { throw CLIError("no account named \(username)") }
                } catch let error as StorageError where error.code == .conflict {
                    throw CLIError("another account is linked to that identity already")
                }
                try await app.auditor.record(
                    .accountIdentity, actor: .system, outcome: .allowed,
                    reason: identity == nil ? "identity link of account \(account.id) removed" : "account \(account.id) linked to an identity",
                    clientIP: nil)
                try await app.auditLog.checkpoint()
                say(identity == nil ? "Removed the identity link of \(account.username)." : "Linked \(account.username) to \(identity!).")
            }
        }
    }

    struct ResetSecondFactor: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-second-factor",
            abstract: "Remove an account's second factor and recovery codes and end its sessions (a lost phone); it sets one up again.")
        @Argument(help: "The username.") var username: String
        @OptionGroup var data: DataOptions

        func run() async throws {
            try await withApp(data) { app in
                guard try await app.accounts.secondFactors.reset(username: username) else {
                    throw CLIError("\(username.lowercased()) has no second factor set up (or there is no such account)")
                }
                try await app.auditLog.checkpoint()
                say("Reset the second factor of \(username.lowercased()); their sessions have ended.")
            }
        }
    }
}

/// The server's services over the data directory, for one CLI command;
/// the store is closed when `body` returns or throws.
func withApp<T>(
    _ data: DataOptions, configuration given: ServerConfiguration? = nil, _ body: (SamromApp) async throws -> T
) async throws -> T {
    var configuration = given ?? ServerConfiguration()
    configuration.dataDirectory = URL(fileURLWithPath: data.dataDirectory)
    var logger = Logger(label: "samrom")
    logger.logLevel = .warning
    return try await data.withStore { store in
        let app: SamromApp
        do {
            // A command signs a checkpoint only where a server could: with the
            // log's key in its data directory, or as the very first signer.
            let key = configuration.dataDirectory.appendingPathComponent(AuditSigningKey.fileName).path
            let firstSigner = try await store.auditVerifierKey(recording: nil) == nil
            configuration.signsAuditCheckpoints = FileManager.default.fileExists(atPath: key) || firstSigner
            // Nor does it make a second-factor key where the store has one already.
            let sealing = configuration.dataDirectory.appendingPathComponent(SecondFactorKeyFile.fileName).path
            let firstSealer = try await store.secondFactorKeyID(recording: nil) == nil
            configuration.loadsSecondFactorKey = FileManager.default.fileExists(atPath: sealing) || firstSealer
            app = try await SamromApp(configuration: configuration, store: store, logger: logger)
        } catch {
            throw CLIError("cannot open the data directory \(data.dataDirectory): \(error)")
        }
        return try await body(app)
    }
}
