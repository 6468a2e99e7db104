import Foundation
import SamromCore

/// The data directory holds the database, keys and generated certificates;
/// only the server's own user may enter it.
public enum DataDirectory {
    public static func prepare(_ directory: URL) throws {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: directory.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw StorageError(.unavailable, "\(directory.path) exists and is not a directory")
            }
            return
        }
        do {
            try manager.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw StorageError(.unavailable, "cannot create the data directory \(directory.path)")
        }
    }
}
