import Foundation
import SamromCore
import Sodium

/// The key TOTP secrets are sealed with, in `DATA/second-factor.key`: 32
/// raw bytes, mode 0600, made by the first process that needs it (like the
/// audit signing key). Instances sharing a store copy it from the first; a
/// key that group or others could read is refused (`DataDirectory`).
public enum SecondFactorKeyFile {
    public static let fileName = "second-factor.key"

    /// The key in `directory`, or nil if there is none.
    public static func load(in directory: URL) throws -> SecondFactorKey? {
        try DataDirectory.prepare(directory)
        let path = directory.appendingPathComponent(fileName).path
        guard var data = FileManager.default.contents(atPath: path) else { return nil }
        defer { data.withUnsafeMutableBytes { _ = memset($0.baseAddress!, 0, $0.count) } }
        do {
            return try SecondFactorKey(SecureBytes(data))
        } catch {
            throw StorageError(.corrupt, "\(path) is not a second-factor key (\(SecondFactorKey.length) bytes)")
        }
    }

    /// Makes a new key in `directory` (0600 from the start, moved into place atomically).
    public static func create(in directory: URL) throws -> SecondFactorKey {
        try DataDirectory.prepare(directory)
        let path = directory.appendingPathComponent(fileName).path
        let key = SecondFactorKey.generate()
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: nil, attributes: [.posixPermissions: 0o600]),
            let handle = FileHandle(forWritingAtPath: temporary)
        else { throw StorageError(.unavailable, "cannot write \(path)") }
        try key.withUnsafeBytes { try handle.write(contentsOf: Data($0)) }
        try handle.synchronize()
        try handle.close()
        guard link(temporary, path) == 0 else {
            unlink(temporary)
            throw StorageError(.unavailable, "cannot write \(path) (it may exist already)")
        }
        unlink(temporary)
        return key
    }
}
