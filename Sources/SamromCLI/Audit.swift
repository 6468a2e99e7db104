import ArgumentParser
import Foundation
import SamromCore
import SamromServer
import SamromStore

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read the audit log.", subcommands: [Export.self])

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write every entry to standard output, in order (JSONL: one entry's canonical bytes per line).")
        @OptionGroup var data: DataOptions
        @Option(help: "jsonl") var format: String = "jsonl"

        func validate() throws {
            guard format == "jsonl" else { throw ValidationError("--format must be jsonl (csv comes with the audit module)") }
        }

        func run() async throws {
            let app = try await openApp(data)
            var next: UInt64 = 0
            while true {
                let page = try await app.store.auditEntries(from: next, limit: 1000)
                for entry in page {
                    FileHandle.standardOutput.write(Data(entry.canonicalBytes() + [0x0A]))
                }
                guard let last = page.last else { break }
                next = last.seq + 1
            }
        }
    }
}
