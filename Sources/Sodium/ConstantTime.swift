import CSodium

/// Comparison whose running time does not depend on where inputs differ.
public enum ConstantTime {
    /// `sodium_memcmp` over equal-length inputs; different lengths are unequal
    /// (lengths are public in every use here: hashes and fixed-size keys).
    public static func equals(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        Sodium.ready()
        guard a.count == b.count else { return false }
        if a.count == 0 { return true }
        return sodium_memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0
    }

    public static func equals(_ a: some ContiguousBytes, _ b: some ContiguousBytes) -> Bool {
        a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in equals(pa, pb) } }
    }
}

/// Anything that exposes contiguous bytes (Array<UInt8>, ArraySlice, SecureBytes).
public protocol ContiguousBytes {
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension Array: ContiguousBytes where Element == UInt8 {}
extension ArraySlice: ContiguousBytes where Element == UInt8 {}
extension SecureBytes: ContiguousBytes {}
