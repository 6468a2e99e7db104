import ArgumentParser
import Foundation
import Logging
import SamromCore
import SamromPostgres
import SamromStore

/// Where the data lives, from `--store`: SQLite in the data directory (the
/// default, for one machine) or a PostgreSQL database shared by several
/// instances (`postgres://user@host:port/database`). The data directory
/// still holds the audit signing key and generated certificates.
enum StoreLocation: Equatable {
    case sqlite
    case postgres(url: String)

    init(_ text: String?) throws {
        guard let text, !text.isEmpty, text != "sqlite" else {
            self = .sqlite
            return
        }
        guard text.hasPrefix("postgres://") || text.hasPrefix("postgresql://"), URL(string: text)?.host != nil else {
            throw ValidationError("--store must be sqlite or a postgres://user@host:port/database URL")
        }
        self = .postgres(url: text)
    }

    /// The password in `--store-password-file`: its first line, which must
    /// not be empty; a file that others may read is refused.
    static func readPassword(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("cannot read --store-password-file \(path)")
        }
        if let mode = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int, mode & 0o077 != 0 {
            throw CLIError("--store-password-file \(path) may be read by others (mode \(String(mode, radix: 8))): chmod 600 it")
        }
        let line = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).first ?? ""
        let password = line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
        guard !password.isEmpty else { throw CLIError("--store-password-file \(path) is empty") }
        return password
    }

    /// Lets a store's connections go (SQLite closes with its last reference).
    static func close(_ store: any SamromStorage) async {
        await (store as? PostgresStore)?.close()
    }

    /// Opens (and creates or migrates) the store.
    func open(dataDirectory: String, passwordFile: String? = nil) async throws -> any SamromStorage {
        switch self {
        case .sqlite:
            do {
                return try SQLiteStore(directory: URL(fileURLWithPath: dataDirectory))
            } catch {
                throw CLIError("cannot open the data directory \(dataDirectory): \(error)")
            }
        case .postgres(let url):
            var logger = Logger(label: "samrom.postgres")
            logger.logLevel = .warning
            let password = try passwordFile.map(Self.readPassword)
            do {
                return try await PostgresStore.connect(url: url, password: password, logger: logger)
            } catch {
                // The URL may hold a password: never print it.
                throw CLIError("cannot open the PostgreSQL store: \(error)")
            }
        }
    }
}
