// Why C at all: libsodium is the audited implementation of every primitive
// Samrom uses; this module is the only place that touches its C API.
import CSodium

/// Process-wide libsodium initialisation. Every entry point of this module
/// calls `Sodium.ready()` first; `sodium_init` is idempotent and thread-safe.
public enum Sodium {
    private static let initialised: Bool = sodium_init() >= 0

    /// Ensures libsodium is initialised; traps only if the library cannot
    /// initialise at all (no usable random source), where nothing is safe.
    @discardableResult
    public static func ready() -> Bool {
        precondition(initialised, "libsodium failed to initialise")
        return true
    }

    /// The version string of the linked libsodium, e.g. "1.0.18".
    public static var version: String {
        ready()
        return String(cString: sodium_version_string())
    }
}
