import CSodium

/// Secret bytes that are wiped with `sodium_memzero` when released and
/// compared in constant time. Their description never shows the content.
public final class SecureBytes: @unchecked Sendable, Equatable, CustomStringConvertible {
    // Sendable because the buffer is written only inside `init`, never after.
    private let storage: UnsafeMutableRawBufferPointer
    public let count: Int

    /// Makes `count` bytes, filled by `initializer`.
    public init(count: Int, initializer: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        Sodium.ready()
        precondition(count >= 0)
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
        do {
            try initializer(UnsafeMutableRawBufferPointer(rebasing: storage[0..<count]))
        } catch {
            sodium_memzero(storage.baseAddress, storage.count)
            storage.deallocate()
            throw error
        }
        self.storage = storage
        self.count = count
    }

    /// Copies `bytes` into secure storage. The caller should wipe its copy.
    public convenience init(_ bytes: some Collection<UInt8>) {
        let array = Array(bytes)
        self.init(count: array.count) { buffer in
            buffer.copyBytes(from: array)
        }
    }

    /// `count` bytes from libsodium's CSPRNG.
    public static func random(count: Int) -> SecureBytes {
        SecureBytes(count: count) { buffer in
            if count > 0 { randombytes_buf(buffer.baseAddress!, count) }
        }
    }

    deinit {
        sodium_memzero(storage.baseAddress, storage.count)
        storage.deallocate()
    }

    /// Read access to the secret; do not let the pointer escape.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(rebasing: storage[0..<count]))
    }

    /// A copy of the secret as ordinary bytes (to put it on the wire once).
    public func copyBytes() -> [UInt8] {
        withUnsafeBytes { Array($0) }
    }

    public static func == (lhs: SecureBytes, rhs: SecureBytes) -> Bool {
        lhs.withUnsafeBytes { a in rhs.withUnsafeBytes { b in ConstantTime.equals(a, b) } }
    }

    public var description: String { "SecureBytes(\(count) bytes, redacted)" }
}
