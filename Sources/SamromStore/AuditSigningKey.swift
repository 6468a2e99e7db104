import Foundation
import SamromCore
import Sodium

/// The audit log's Ed25519 signing key, in `DATA/audit-signing.key` (mode
/// 0600), made on first start. Its name is the log's origin, fixed at
/// creation: later starts keep it whatever the configuration says. A key
/// that group or others could read is refused, never quietly corrected
/// (`DataDirectory.refuseExposedSecret`).
public enum AuditSigningKey {
    public static let fileName = "audit-signing.key"

    public static func loadOrCreate(in directory: URL, name: String) throws -> NoteSigner {
        try DataDirectory.prepare(directory)
        let path = directory.appendingPathComponent(fileName).path
        if let data = FileManager.default.contents(atPath: path) {
            do {
                return try NoteSigner(privateKeyText: String(decoding: data, as: UTF8.self))
            } catch {
                throw StorageError(.corrupt, "\(path) is not a valid audit signing key: \(error)")
            }
        }
        let signer = try NoteSigner(name: name, key: .generate())
        let text = Data((signer.privateKeyText + "\n").utf8)
        // Written with 0600 from the start, then moved into place atomically.
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: nil, attributes: [.posixPermissions: 0o600]),
            let handle = FileHandle(forWritingAtPath: temporary)
        else { throw StorageError(.unavailable, "cannot write \(path)") }
        try handle.write(contentsOf: text)
        try handle.synchronize()
        try handle.close()
        guard rename(temporary, path) == 0 else { throw StorageError(.unavailable, "cannot write \(path)") }
        return signer
    }

    /// The verifier key of an existing log, for `samrom audit verify`.
    public static func verifier(in directory: URL) throws -> NoteVerifier? {
        let path = directory.appendingPathComponent(fileName).path
        try DataDirectory.refuseExposedSecret(path)
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try NoteSigner(privateKeyText: String(decoding: data, as: UTF8.self)).verifier
    }
}
