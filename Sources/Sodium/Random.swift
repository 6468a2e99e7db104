import CSodium

/// libsodium's CSPRNG (`randombytes_buf`, getrandom(2) on Linux).
public enum Random {
    public static func bytes(_ count: Int) -> [UInt8] {
        Sodium.ready()
        var out = [UInt8](repeating: 0, count: count)
        if count > 0 {
            out.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, count) }
        }
        return out
    }

    /// A uniform integer in `0..<upperBound` (`randombytes_uniform`).
    public static func uniform(_ upperBound: UInt32) -> UInt32 {
        Sodium.ready()
        return randombytes_uniform(upperBound)
    }
}
