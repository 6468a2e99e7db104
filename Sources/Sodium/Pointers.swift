// libsodium declares its buffer parameters non-null even for zero lengths;
// Swift gives nil base addresses for empty buffers. These helpers bridge that.

/// A one-byte placeholder passed with length 0; libsodium never touches it.
nonisolated(unsafe) private let placeholder = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)

extension UnsafeRawBufferPointer {
    var u8: UnsafePointer<UInt8> { baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) } ?? UnsafePointer(placeholder) }
    var cchar: UnsafePointer<CChar> { UnsafeRawPointer(u8).assumingMemoryBound(to: CChar.self) }
}

extension UnsafeMutableRawBufferPointer {
    var u8: UnsafeMutablePointer<UInt8> { baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) } ?? placeholder }
}

extension UnsafeMutableBufferPointer<UInt8> {
    var nonNull: UnsafeMutablePointer<UInt8> { baseAddress ?? placeholder }
}

extension UnsafeBufferPointer<UInt8> {
    var nonNull: UnsafePointer<UInt8> { baseAddress ?? UnsafePointer(placeholder) }
}
