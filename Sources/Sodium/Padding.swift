import CSodium

/// ISO/IEC 7816-4 padding to a block size (`sodium_pad` / `sodium_unpad`),
/// so ciphertext lengths reveal only a multiple of the block size.
public enum Padding {
    public static func pad(_ bytes: [UInt8], blockSize: Int) throws -> [UInt8] {
        Sodium.ready()
        guard blockSize > 0 else { throw SodiumError(.invalidLength, "block size must be positive") }
        var buffer = bytes + [UInt8](repeating: 0, count: blockSize)
        var padded = 0
        let status = buffer.withUnsafeMutableBufferPointer { b in
            sodium_pad(&padded, b.nonNull, bytes.count, blockSize, b.count)
        }
        guard status == 0 else { throw SodiumError(.invalidPadding, "sodium_pad failed") }
        return Array(buffer.prefix(padded))
    }

    public static func unpad(_ bytes: [UInt8], blockSize: Int) throws -> [UInt8] {
        Sodium.ready()
        guard blockSize > 0, !bytes.isEmpty else { throw SodiumError(.invalidPadding, "nothing to unpad") }
        var unpadded = 0
        let status = bytes.withUnsafeBufferPointer { b in
            sodium_unpad(&unpadded, b.nonNull, b.count, blockSize)
        }
        guard status == 0 else { throw SodiumError(.invalidPadding, "bad padding") }
        return Array(bytes.prefix(unpadded))
    }
}
