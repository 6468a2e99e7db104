import ArgumentParser
import Foundation
import SamromCore
import SamromServer
import SamromStore

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify, export and publish the audit log.", subcommands: [Verify.self, Export.self, Checkpoint.self, PublicKey.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the log from the stored entries and check every signed checkpoint.",
            discussion: """
                Exit 0 when the log is intact. Otherwise exit 1 and name the first entry that does not match.
                With --checkpoint, also prove that the log only grew by appending since that checkpoint was saved.
                """)
        @OptionGroup var data: DataOptions
        @Option(help: "A signed checkpoint saved earlier (from GET /api/audit/checkpoint).") var checkpoint: String?
        @Option(name: .customLong("verifier-key"), help: "The published verifier key; by default derived from the data directory's signing key.")
        var verifierKey: String?

        func run() async throws {
            let directory = URL(fileURLWithPath: data.dataDirectory)
            try await data.withStore { store in
                let verifier: NoteVerifier
                do {
                    if let verifierKey {
                        verifier = try NoteVerifier(verifierKey: verifierKey)
                    } else if let own = try AuditSigningKey.verifier(in: directory) {
                        verifier = own
                    } else if let recorded = try await store.auditVerifierKey(recording: nil) {
                        // Weaker: whoever can change the database can change this.
                        say("No signing key in \(data.dataDirectory): verifying with the key recorded in the store; pass --verifier-key to use the published one.")
                        verifier = try NoteVerifier(verifierKey: recorded)
                    } else {
                        throw CLIError("no audit signing key in \(data.dataDirectory) and none recorded in the store; pass --verifier-key")
                    }
                } catch let error as CLIError {
                    throw error
                } catch {
                    throw CLIError("the verifier key is not valid: \(error)")
                }
                var saved: String?
                if let checkpoint {
                    guard let contents = FileManager.default.contents(atPath: checkpoint) else {
                        throw CLIError("cannot read the checkpoint file \(checkpoint)")
                    }
                    saved = String(decoding: contents, as: UTF8.self)
                }
                let started = ContinuousClock.now
                let report = try await AuditVerifier.verify(store: store, verifier: verifier, savedCheckpoint: saved)
                let elapsed = ContinuousClock.now - started
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                let rate = seconds > 0 ? Int(Double(report.size) / seconds) : 0
                if let failure = report.failure {
                    FileHandle.standardError.write(Data("Audit log NOT intact: \(failure.description)\n".utf8))
                    throw ExitCode(1)
                }
                say("Audit log intact: \(report.size) entries (\(report.erased) erased after retention), root \(Data(report.root).base64EncodedString()).")
                say("Verified \(report.checkpointsVerified) signed checkpoints\(saved == nil ? "" : " and the saved checkpoint") with \(verifier.verifierKey).")
                say("Checked in \(String(format: "%.3f", seconds)) s (\(rate) entries/s).")
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write every entry to standard output, in order: JSONL (each line one entry's canonical bytes) or CSV.")
        @OptionGroup var data: DataOptions
        @Option(help: "jsonl or csv") var format: String = "jsonl"

        func validate() throws {
            guard AuditExportFormat(rawValue: format) != nil else { throw ValidationError("--format must be jsonl or csv") }
        }

        func run() async throws {
            try await data.withStore { store in
                try await AuditExportFormat(rawValue: format)!.export(from: store) { bytes in
                    FileHandle.standardOutput.write(Data(bytes))
                }
            }
        }
    }

    struct Checkpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the latest signed checkpoint (a C2SP signed note); keep it to prove later that the log only grew.")
        @OptionGroup var data: DataOptions

        func run() async throws {
            let note = try await data.withStore { try await $0.latestAuditCheckpoint() }
            guard let note else { throw CLIError("no checkpoint has been signed yet") }
            FileHandle.standardOutput.write(Data(note.utf8))
        }
    }

    struct PublicKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "public-key", abstract: "Print the log's verifier key (Go note format), to publish.")
        @OptionGroup var data: DataOptions

        func run() async throws {
            if let verifier = try AuditSigningKey.verifier(in: URL(fileURLWithPath: data.dataDirectory)) {
                say(verifier.verifierKey)
            } else if let recorded = try await data.withStore({ try await $0.auditVerifierKey(recording: nil) }) {
                say(recorded)
            } else {
                throw CLIError("no audit signing key in \(data.dataDirectory) yet; it is made when the server first starts")
            }
        }
    }
}

struct Purge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the retention periods now (serve does it every hour).")
    @OptionGroup var data: DataOptions
    @OptionGroup var retention: RetentionOptions

    func run() async throws {
        var configuration = ServerConfiguration()
        configuration.dataDirectory = URL(fileURLWithPath: data.dataDirectory)
        retention.apply(to: &configuration)
        try await withApp(data, configuration: configuration) { app in
            let result = try await Retention.run(store: app.store, auditor: app.auditor, configuration: configuration, clock: app.clock)
            try await app.auditLog.checkpoint()
            say("Deleted \(result.chatCopiesDeleted) sealed chat copies of closed consultations.")
            say("Erased the content of \(result.auditEntriesErased) audit entries (their leaf hashes stay).")
        }
    }
}

