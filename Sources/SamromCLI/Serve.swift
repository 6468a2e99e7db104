import ArgumentParser
import Foundation
import Hummingbird
import Logging
import NIOCore
import SamromCore
import SamromServer
import SamromStore
import Sodium

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server (always HTTPS).")

    @OptionGroup var options: ServerOptions
    @Flag(help: "On an empty data directory, create a demo veileder and personvernombud and print their passwords.")
    var demo = false
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            return handler
        }
        let logger = Logger(label: "samrom")
        Self.raiseOpenFileLimit(logger: logger)
        let configuration = try options.configuration()
        try await options.data.withStore { store in
            let app: SamromApp
            do {
                app = try await SamromApp(configuration: configuration, store: store, logger: logger)
            } catch {
                throw CLIError("cannot start: \(error)")
            }
            if demo {
                try await createDemoAccounts(app)
            }
            let shownHost = options.host == "127.0.0.1" || options.host == "::1" ? "localhost" : options.host
            let application: any ApplicationProtocol
            do {
                application = try app.application { channel in
                    let bound = channel.localAddress?.port ?? options.port
                    say("Samrom is running at https://\(shownHost):\(bound)/  (Ctrl-C stops it)")
                }
            } catch {
                throw CLIError("cannot start: \(error)")
            }
            try await application.runService()
        }
    }

    /// Demo accounts on an empty data directory only, with fresh random passwords.
    func createDemoAccounts(_ app: SamromApp) async throws {
        guard try await app.store.accountCount() == 0 else {
            say("Demo: the data directory already has accounts; none created.")
            return
        }
        say("Demo accounts (passwords shown once):")
        for (username, role) in [("veileder", AccountRole.veileder), ("personvernombud", .privacyOfficer)] {
            let password = DemoPassword.make()
            _ = try await app.accounts.create(username: username, role: role, password: SecureBytes(Array(password.utf8)))
            say("  \(role.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0)) \(username)  \(password)")
        }
    }
}

/// Readable random passwords: 4 groups of 5 from an unambiguous alphabet (~98 bits).
enum DemoPassword {
    static func make() -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789")
        let groups = (0..<4).map { _ in String((0..<5).map { _ in alphabet[Int(Random.uniform(UInt32(alphabet.count)))] }) }
        return groups.joined(separator: "-")
    }
}

/// A failure the user can act on: printed as one line, exit code 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Writes a line to standard output at once (no buffering), so the demo
/// accounts and the URL show even when output goes to a pipe or file.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

extension Serve {
    /// Every connection is a file descriptor: use the hard limit, not the
    /// (often 1,024) soft one.
    static func raiseOpenFileLimit(logger: Logger) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            logger.info("open file limit raised", metadata: ["limit": "\(limit.rlim_max)"])
        }
    }
}
