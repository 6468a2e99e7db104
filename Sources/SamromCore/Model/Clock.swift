import Foundation

/// Wall-clock time, injected so tests can move it.
public struct WallClock: Sendable {
    private let read: @Sendable () -> Date
    public init(_ read: @escaping @Sendable () -> Date) { self.read = read }
    public var now: Date { read() }
    public static let system = WallClock { Date() }
}
