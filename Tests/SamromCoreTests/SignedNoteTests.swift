import Crypto
import Foundation
import SamromCore
import Sodium
import Testing

/// Notes and keys byte for byte as Go's golang.org/x/mod/sumdb/note makes
/// them, and checkpoints as C2SP tlog-checkpoint specifies.
@Suite struct SignedNoteTests {
    // Go's published verifier key and note (golang.org/x/mod/sumdb/note). Its
    // private key is published too, but no private key is kept in this
    // repository: signing is checked with keys made here, against Go's format
    // and an independent Ed25519 (below).
    static let verifierKey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    static let text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
    static let note = text + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"

    @Test func privateKeyTextHasGosShapeAndRoundTrips() throws {
        let signer = try NoteSigner(name: "PeterNeumann", key: .generate())
        let parts = signer.privateKeyText.split(separator: "+", maxSplits: 4).map(String.init)
        #expect(parts.count == 5 && parts[0] == "PRIVATE" && parts[1] == "KEY" && parts[2] == "PeterNeumann")
        #expect(parts[3] == signer.verifier.keyIDHex)
        #expect(Data(base64Encoded: parts[4]).map { $0.count == 33 && $0.first == 0x01 } == true)
        let reread = try NoteSigner(privateKeyText: signer.privateKeyText)
        #expect(reread.verifier == signer.verifier)
        #expect(try reread.sign(Self.text) == (try signer.sign(Self.text)))
        #expect(try signer.verifier.open(try reread.sign(Self.text)) == Self.text)
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

    @Test func malformedKeysAreRefused() throws {
        for key in ["", "PeterNeumann", "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                    "PeterNeumann+c74f20a3+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "Peter Neumann+c74f20a3+ARpc"] {
            #expect(throws: NoteKeyError.self) { try NoteVerifier(verifierKey: key) }
        }
        let text = try NoteSigner(name: "PeterNeumann", key: .generate()).privateKeyText
        let parts = text.split(separator: "+", maxSplits: 4).map(String.init)
        let wrongID = (parts[..<3] + ["00000000", parts[4]]).joined(separator: "+")
        for bad in ["", text.replacingOccurrences(of: "PRIVATE+KEY+", with: "PRIVATE+KEX+"), wrongID] {
            #expect(throws: NoteKeyError.self) { try NoteSigner(privateKeyText: bad) }
        }
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
