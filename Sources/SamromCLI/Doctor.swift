import ArgumentParser
import Foundation
import SamromServer

/// `samrom doctor`: checks a production set-up, given the same flags as
/// `samrom serve`, and says in plain words what is wrong. Exit status 1 when
/// anything is a problem; warnings alone leave it 0.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check a production set-up (give it the flags serve runs with): certificate, data directory, TURN, origin, retention, clock, disk.",
        discussion: """
            Exits 1 when something is a problem. It reads the data directory's modes before it opens the store; \
            opening it, as every command does, then corrects them and brings an older schema up to date.
            """)

    @OptionGroup var options: ServerOptions
    @Option(name: .customLong("min-free-disk-mb"), help: "Less free space than this where the data directory is is a problem (default 1024).")
    var minimumFreeMiB: Int = Int(SetupRules.defaultMinimumFreeBytes >> 20)
    @Option(name: .customLong("trust-ca-file"), help: "PEM CA certificates to trust for the server's certificate besides the system's.")
    var trustCAFile: String?
    @Option(name: .customLong("turn-timeout"), help: "Seconds each TURN server has to answer (default 5).")
    var turnTimeout: Int = 5

    func validate() throws {
        guard (0...100_000_000).contains(minimumFreeMiB) else { throw ValidationError("--min-free-disk-mb must be 0 to 100000000") }
        guard (1...60).contains(turnTimeout) else { throw ValidationError("--turn-timeout must be 1 to 60 seconds") }
        if let trustCAFile, !FileManager.default.isReadableFile(atPath: trustCAFile) {
            throw ValidationError("cannot read --trust-ca-file \(trustCAFile)")
        }
    }

    func run() async throws {
        var doctor = Doctor(configuration: try options.configuration())
        doctor.minimumFreeBytes = UInt64(minimumFreeMiB) << 20
        doctor.extraTrustRootsFile = trustCAFile
        doctor.turnTimeout = .seconds(turnTimeout)

        var findings = await doctor.examineSetup()
        if options.data.store == .sqlite, !FileManager.default.fileExists(atPath: options.data.dataDirectory) {
            // Opening it would make it; the clock is checked alone.
            findings += doctor.examineClock()
        } else {
            do {
                findings += try await options.data.withStore { store in await doctor.examineStore(store) }
            } catch {
                findings.append(.problem(.store, "\(error)"))
            }
        }
        let order = DoctorFinding.Check.allCases
        for finding in findings.enumerated().sorted(by: {
            (order.firstIndex(of: $0.element.check)!, $0.offset) < (order.firstIndex(of: $1.element.check)!, $1.offset)
        }) {
            say(finding.element.description)
        }
        let problems = findings.filter { $0.severity == .problem }.count
        let warnings = findings.filter { $0.severity == .warning }.count
        say("")
        say(problems == 0 ? "No problems" + (warnings == 0 ? "." : ", \(warnings) warning\(warnings == 1 ? "" : "s").")
            : "\(problems) problem\(problems == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s").")
        if problems > 0 { throw ExitCode(1) }
    }
}
