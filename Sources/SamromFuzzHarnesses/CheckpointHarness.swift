import Foundation
import SamromCore
import Sodium

extension FuzzHarness {
    /// `Checkpoint.parse(body:)`: a checkpoint it accepts has a body that
    /// parses to the same checkpoint, and that body is the input itself when
    /// the input was already in the one form the log writes.
    public static let checkpoint = FuzzHarness(name: "checkpoint", maxLength: 1024) { (bytes) throws(InvariantViolation) in
        try checkCheckpoint(String(decoding: bytes, as: UTF8.self))
    }

    static func checkCheckpoint(_ body: String) throws(InvariantViolation) {
        guard let parsed = try? Checkpoint.parse(body: body) else { return }
        do {
            let again = try Checkpoint.parse(body: parsed.body)
            try require(again == parsed, "\(parsed) written as \(parsed.body.debugDescription) parses to \(again)")
        } catch let error as InvariantViolation {
            throw error
        } catch {
            throw InvariantViolation("\(parsed) written as \(parsed.body.debugDescription) does not parse: \(error)")
        }
    }

    /// The example key of docs/audit.md: its seed is SHA-256 of a sentence,
    /// so the corpus can hold notes that really verify.
    static let noteSigner: NoteSigner = {
        let seed = SecureBytes(SHA256.hash(Array("samrom example key (never use)".utf8)))
        return try! NoteSigner(name: "samrom.example/audit", key: try! Ed25519.SigningKey(seed: seed))
    }()

    /// `NoteVerifier.open`, with a fixed key, then `Checkpoint.parse` on what
    /// it opens (as `samrom audit verify` does). A note that opens has text
    /// that opens again when signed afresh, and other keys' signature lines
    /// are ignored as the spec requires.
    public static let signedNote = FuzzHarness(name: "signed-note", maxLength: 1024) { (bytes) throws(InvariantViolation) in
        let note = String(decoding: bytes, as: UTF8.self)
        let verifier = noteSigner.verifier
        guard let text = try? verifier.open(note) else { return }
        try require(text.hasSuffix("\n"), "an opened note's text does not end with a newline: \(text.debugDescription)")
        let resigned: String
        do {
            resigned = try noteSigner.sign(text)
        } catch {
            throw InvariantViolation("an opened note's text cannot be signed again (\(error)): \(text.debugDescription)")
        }
        do {
            let opened = try verifier.open(resigned)
            try require(opened == text, "\(text.debugDescription) signed again opens as \(opened.debugDescription)")
        } catch let error as InvariantViolation {
            throw error
        } catch {
            throw InvariantViolation("\(text.debugDescription) signed again does not open: \(error)")
        }
        try checkCheckpoint(text)
    }
}
