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

    /// Directories 0700 and regular files 0600, recursively. Symbolic links
    /// are neither followed nor changed (chmod would change their target).
    static func secure(_ path: String, isRoot: Bool = false) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            throw StorageError(.unavailable, "cannot inspect \(path)")
        }
        let type = info.st_mode & S_IFMT
        // The data directory itself may be a symbolic link to a directory.
        if isRoot, type == S_IFLNK {
            guard stat(path, &info) == 0 else { throw StorageError(.unavailable, "cannot inspect \(path)") }
        }
        switch info.st_mode & S_IFMT {
        case S_IFDIR:
            try correct(path, info: info, to: directoryMode)
            let entries: [String]
            do {
                entries = try FileManager.default.contentsOfDirectory(atPath: path)
            } catch {
                throw StorageError(.unavailable, "cannot list \(path)")
            }
            for entry in entries {
                try secure((path as NSString).appendingPathComponent(entry))
            }
        case S_IFREG:
            try correct(path, info: info, to: fileMode)
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

    static func octal(_ mode: mode_t) -> String {
        "0" + String(mode, radix: 8)
    }
}
