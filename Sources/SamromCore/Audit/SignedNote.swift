import Foundation
import Sodium

/// Signs text as a C2SP signed note with Ed25519 (signature type 0x01):
///
///     <text ending in \n>
///     <blank line>
///     — <key name> base64(key ID || signature)
///
/// with key ID = SHA-256(name || 0x0A || 0x01 || public key)[:4]. The keys'
/// text forms are those of Go's golang.org/x/mod/sumdb/note, so standard
/// tooling reads them.
public struct NoteSigner: Sendable {
    public let name: String
    let key: Ed25519.SigningKey

    public init(name: String, key: Ed25519.SigningKey) throws(NoteKeyError) {
        guard NoteKeyError.isValidName(name) else { throw NoteKeyError("the key name must be non-empty and have no spaces or '+'") }
        self.name = name
        self.key = key
    }

    public var verifier: NoteVerifier { NoteVerifier(name: name, publicKey: key.publicKey) }

    /// `<text>\n— <name> <base64(keyID || signature)>\n`.
    public func sign(_ text: String) throws(NoteKeyError) -> String {
        guard text.hasSuffix("\n") else { throw NoteKeyError("a note's text ends with a newline") }
        let signature = key.sign(Array(text.utf8))
        let blob = verifier.keyID + signature.bytes
        return text + "\n— \(name) \(Data(blob).base64EncodedString())\n"
    }

    /// `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>`: how the key is stored (mode 0600).
    public var privateKeyText: String {
        key.seed.withUnsafeBytes { seed in
            "PRIVATE+KEY+\(name)+\(verifier.keyIDHex)+\(Data([0x01] + Array(seed)).base64EncodedString())"
        }
    }

    public init(privateKeyText text: String) throws(NoteKeyError) {
        // The base64 part may itself contain '+'.
        let parts = text.trimmingCharacters(in: .whitespacesAndNewlines)
            .split(separator: "+", maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "PRIVATE", parts[1] == "KEY",
            let blob = Data(base64Encoded: String(parts[4])), blob.count == 1 + Ed25519.seedLength, blob.first == 0x01,
            let key = try? Ed25519.SigningKey(seed: SecureBytes(Array(blob.dropFirst())))
        else { throw NoteKeyError("not an Ed25519 note signing key") }
        try self.init(name: String(parts[2]), key: key)
        guard verifier.keyIDHex == parts[3] else { throw NoteKeyError("the signing key's id does not match its key") }
    }
}

/// Verifies notes signed by one Ed25519 key, given in Go's verifier key
/// format `<name>+<hex key ID>+<base64(0x01 || public key)>`.
public struct NoteVerifier: Sendable, Equatable {
    public let name: String
    public let publicKey: Ed25519.PublicKey

    public init(name: String, publicKey: Ed25519.PublicKey) {
        self.name = name
        self.publicKey = publicKey
    }

    public init(verifierKey text: String) throws(NoteKeyError) {
        let parts = text.trimmingCharacters(in: .whitespacesAndNewlines)
            .split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, NoteKeyError.isValidName(String(parts[0])),
            let blob = Data(base64Encoded: String(parts[2])), blob.count == 1 + Ed25519.publicKeyLength, blob.first == 0x01,
            let key = try? Ed25519.PublicKey(Array(blob.dropFirst()))
        else { throw NoteKeyError("not an Ed25519 note verifier key") }
        self.init(name: String(parts[0]), publicKey: key)
        guard keyIDHex == parts[1] else { throw NoteKeyError("the verifier key's id does not match its key") }
    }

    /// SHA-256(name || 0x0A || 0x01 || public key)[:4].
    public var keyID: [UInt8] {
        Array(SHA256.hash(Array(name.utf8) + [0x0A, 0x01] + publicKey.bytes).prefix(4))
    }

    public var keyIDHex: String { keyID.map { String(format: "%02x", $0) }.joined() }

    public var verifierKey: String {
        "\(name)+\(keyIDHex)+\(Data([0x01] + publicKey.bytes).base64EncodedString())"
    }

    /// The note's text, if it carries a valid signature by this key.
    /// Signatures by other keys are ignored, as the spec requires.
    public func open(_ note: String) throws(NoteKeyError) -> String {
        guard note.hasSuffix("\n"), let split = note.range(of: "\n\n", options: .backwards) else {
            throw NoteKeyError("not a signed note")
        }
        let text = String(note[..<split.lowerBound]) + "\n"
        let signatures = note[split.upperBound...].dropLast().split(separator: "\n", omittingEmptySubsequences: false)
        guard !signatures.isEmpty, note.unicodeScalars.allSatisfy({ $0 == "\n" || $0.value >= 0x20 }) else {
            throw NoteKeyError("malformed signature lines")
        }
        var verified = false
        for line in signatures {
            guard line.hasPrefix("— ") else { throw NoteKeyError("malformed signature line") }
            let fields = line.dropFirst(2).split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count == 2, let blob = Data(base64Encoded: String(fields[1])), blob.count >= 4 else {
                throw NoteKeyError("malformed signature line")
            }
            guard fields[0] == name, Array(blob.prefix(4)) == keyID else { continue }
            guard let signature = try? Ed25519.Signature(Array(blob.dropFirst(4))),
                publicKey.isValidSignature(signature, for: Array(text.utf8))
            else { throw NoteKeyError("the signature by \(name) does not verify") }
            verified = true
        }
        guard verified else { throw NoteKeyError("no signature by \(name)") }
        return text
    }
}

public struct NoteKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("+") && !name.unicodeScalars.contains { $0.value <= 0x20 }
    }
}
