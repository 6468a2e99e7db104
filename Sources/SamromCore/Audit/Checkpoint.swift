import Foundation

/// A tree head in the C2SP tlog-checkpoint format: the log's origin line,
/// the tree size in decimal, the base64 root hash, each ending in a newline.
/// Signed as a C2SP signed note (`NoteSigner`).
public struct Checkpoint: Sendable, Equatable {
    public var origin: String
    public var size: UInt64
    public var rootHash: [UInt8]

    public init(origin: String, size: UInt64, rootHash: [UInt8]) {
        self.origin = origin
        self.size = size
        self.rootHash = rootHash
    }

    /// The note text that is signed.
    public var body: String {
        "\(origin)\n\(size)\n\(Data(rootHash).base64EncodedString())\n"
    }

    public struct FormatError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Parses a checkpoint body (the text of a verified note). Extension
    /// lines after the root are allowed by the spec and ignored here.
    public static func parse(body: String) throws(FormatError) -> Checkpoint {
        guard body.hasSuffix("\n") else { throw FormatError(description: "a checkpoint ends with a newline") }
        let lines = body.dropLast().split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 3, !lines[0].isEmpty else { throw FormatError(description: "a checkpoint has an origin, a size and a root") }
        guard lines[1].allSatisfy(\.isASCIIDigit), let size = UInt64(lines[1]),
            lines[1] == "0" || !lines[1].hasPrefix("0")
        else { throw FormatError(description: "the tree size is not a decimal number") }
        guard let root = Data(base64Encoded: String(lines[2])), root.count == MerkleTree.hashLength else {
            throw FormatError(description: "the root hash is not 32 bytes of base64")
        }
        return Checkpoint(origin: String(lines[0]), size: size, rootHash: Array(root))
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
