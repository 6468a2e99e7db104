import Foundation
import SamromCore
import Sodium
import Testing

/// docs/audit.md's worked example (computed independently with Python) is
/// exactly what Samrom's own code produces: entry bytes, leaf hashes, root,
/// keys and the signed checkpoint.
@Suite struct AuditDocTests {
    static let document: String = {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try! String(contentsOf: root.appendingPathComponent("docs/audit.md"), encoding: .utf8)
    }()

    /// The body of the fenced block whose info string is `info`.
    static func block(_ info: String) throws -> String {
        let start = try #require(document.range(of: "```\(info)\n"))
        let end = try #require(document.range(of: "\n```", range: start.upperBound..<document.endIndex))
        return String(document[start.upperBound..<end.lowerBound])
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func date(_ text: String) -> Date { AuditEntry.parseTimestamp(text)! }

    @Test func theWorkedExampleIsWhatSamromComputes() throws {
        let events = [
            AuditEvent(
                at: Self.date("2026-11-24T09:30:00.000Z"), actor: AuditActor(kind: .user, id: "1", role: "veileder"),
                action: .consultationCreate, consultation: ConsultationID(rawValue: "7f14QGE6RccA1oCVrjP05g"),
                outcome: .allowed, reason: "veileder created a consultation", clientIP: "192.0.2.10"),
            AuditEvent(
                at: Self.date("2026-11-24T09:31:12.345Z"), actor: .anonymous, action: .join, outcome: .denied,
                reason: "invalid or revoked link", clientIP: "198.51.100.7"),
            AuditEvent(
                at: Self.date("2026-11-24T10:00:00.000Z"), actor: AuditActor(kind: .user, id: "2", role: "privacy-officer"),
                action: .auditSearch, outcome: .allowed, reason: "Deltaker ba om innsyn (sak 2026/17)", clientIP: "192.0.2.20"),
        ]
        let lines = try Self.block("jsonl").split(separator: "\n").map(String.init)
        var tree = MerkleTree()
        for (seq, event) in events.enumerated() {
            let bytes = AuditEntry(seq: UInt64(seq), event: event).canonicalBytes()
            #expect(String(decoding: bytes, as: UTF8.self) == lines[seq])
            tree.append(leafHash: MerkleTree.leafHash(bytes))
        }
        let leaves = try Self.block("leaf-hashes").split(separator: "\n").map(String.init)
        #expect((0..<3).map { Self.hex(tree.leafHash(at: UInt64($0))) } == leaves)
        #expect(Self.hex(tree.root) == (try Self.block("root")))
        #expect(try tree.inclusionProof(index: 1, size: 3) == [tree.leafHash(at: 0), tree.leafHash(at: 2)])
        #expect(try tree.consistencyProof(from: 2, to: 3) == [tree.leafHash(at: 2)])

        let seed = SecureBytes(SHA256.hash(Array("samrom example key (never use)".utf8)))
        let signer = try NoteSigner(name: "samrom.example/audit", key: try Ed25519.SigningKey(seed: seed))
        #expect(signer.verifier.verifierKey == (try Self.block("verifier-key")))
        let note = try signer.sign(Checkpoint(origin: signer.name, size: 3, rootHash: tree.root).body)
        #expect(note == (try Self.block("checkpoint")) + "\n")
    }
}
