import Foundation
import SamromCore

/// The data directory holds the database, keys and generated certificates;
/// only the server's own user may enter it. Every process that opens it
/// (`serve` and each CLI command) checks and corrects the modes of what is
/// in it, so a `chmod -R 755` or a careless restore does not stay.
public enum DataDirectory {
    /// Directories inside the data directory, and the directory itself.
    public static let directoryMode: mode_t = 0o700
    /// Every file inside: the database and its -wal and -shm, keys, certificates.
    public static let fileMode: mode_t = 0o600

    /// Creates the directory if needed (0700), refuses an exposed audit
    /// signing key, and corrects every other mode. Also sets the process's
    /// umask to 077, so files made later (SQLite's -wal and -shm, openssl's
    /// certificate) are private from the start.
    public static func prepare(_ directory: URL) throws {
        umask(0o077)
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: directory.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw StorageError(.unavailable, "\(directory.path) exists and is not a directory")
            }
        } else {
            do {
                try manager.createDirectory(
                    at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: Int(directoryMode)])
            } catch {
                throw StorageError(.unavailable, "cannot create the data directory \(directory.path)")
            }
        }
        try refuseExposedSecret(directory.appendingPathComponent(AuditSigningKey.fileName).path)
        try refuseExposedSecret(directory.appendingPathComponent(SecondFactorKeyFile.fileName).path)
        try secure(directory.path, isRoot: true)
    }

    /// A key that group or others could read (or change) may already have
    /// been copied: the server does not start with it, as ssh refuses such a
    /// private key. Correcting the mode quietly would hide that.
    public static func refuseExposedSecret(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }  // not there yet
        let permissions = info.st_mode & 0o7777
        guard permissions & 0o077 == 0 else {
            throw StorageError(
                .unavailable,
                "\(path) has mode \(octal(permissions)): group or others could read it. If nobody else could have copied it, "
                    + "run `chmod 600 \(path)`; otherwise move the data directory aside and start afresh (the log's key must stay secret)")
        }
    }

    /// Directories 0700 and regular files 0600, recursively.
    static func secure(_ path: String, isRoot: Bool = false) throws {
        try walk(path, isRoot: isRoot) { path, info, wanted in try correct(path, info: info, to: wanted) }
    }

    /// What `samrom doctor` reports and changes nothing: every entry of the
    /// data directory (itself included) whose mode is not the one `prepare`
    /// would give it, or that another user owns.
    public struct Entry: Sendable, Equatable {
        public let path: String
        public let mode: mode_t
        public let wanted: mode_t
        public let owner: uid_t
        /// A key that may not be exposed at all (the server refuses to start).
        public let isSecret: Bool

        public init(path: String, mode: mode_t, wanted: mode_t, owner: uid_t, isSecret: Bool) {
            self.path = path
            self.mode = mode
            self.wanted = wanted
            self.owner = owner
            self.isSecret = isSecret
        }
    }

    public static func inspect(_ directory: URL) throws -> [Entry] {
        let secrets = [AuditSigningKey.fileName, SecondFactorKeyFile.fileName].map { directory.appendingPathComponent($0).path }
        var wrong: [Entry] = []
        try walk(directory.path, isRoot: true) { path, info, wanted in
            guard info.st_mode & 0o7777 != wanted || info.st_uid != geteuid() else { return }
            wrong.append(Entry(path: path, mode: info.st_mode & 0o7777, wanted: wanted, owner: info.st_uid, isSecret: secrets.contains(path)))
        }
        return wrong
    }

    /// Visits `path` and everything under it with the mode it should have:
    /// directories `directoryMode`, regular files `fileMode`. Symbolic links
    /// are neither followed nor visited (chmod would change their target),
    /// except that the data directory itself may be one.
    private static func walk(_ path: String, isRoot: Bool = false, _ visit: (String, stat, mode_t) throws -> Void) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            throw StorageError(.unavailable, "cannot inspect \(path)")
        }
        let type = info.st_mode & S_IFMT
        if isRoot, type == S_IFLNK {
            guard stat(path, &info) == 0 else { throw StorageError(.unavailable, "cannot inspect \(path)") }
        }
        switch info.st_mode & S_IFMT {
        case S_IFDIR:
            try visit(path, info, directoryMode)
            let entries: [String]
            do {
                entries = try FileManager.default.contentsOfDirectory(atPath: path)
            } catch {
                throw StorageError(.unavailable, "cannot list \(path)")
            }
            for entry in entries.sorted() {
                try walk((path as NSString).appendingPathComponent(entry), visit)
            }
        case S_IFREG:
            try visit(path, info, fileMode)
        default:
            break  // links, sockets, fifos: nothing we made
        }
    }

    private static func correct(_ path: String, info: stat, to mode: mode_t) throws {
        guard info.st_mode & 0o7777 != mode else { return }
        guard chmod(path, mode) == 0 else {
            throw StorageError(
                .unavailable, "cannot make \(path) private (mode \(octal(info.st_mode & 0o7777)), want \(octal(mode))): \(String(cString: strerror(errno)))")
        }
    }

    public static func octal(_ mode: mode_t) -> String {
        "0" + String(mode, radix: 8)
    }
}
