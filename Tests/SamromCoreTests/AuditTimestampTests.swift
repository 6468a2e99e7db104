import Foundation
import Testing

@testable import SamromCore

/// Audit and chat times: RFC 3339 UTC with whole milliseconds, rounded down,
/// exactly as Foundation's ISO 8601 formatter writes them (the reference).
@Suite struct AuditTimestampTests {
    static func reference(_ date: Date) -> String {
        let ms = (date.timeIntervalSince1970 * 1000).rounded(.down)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: ms / 1000))
    }

    @Test(arguments: [
        0, 0.0009, 0.999, 1_764_000_000.123, 1_764_000_000.1239, 951_782_400.5, 4_102_444_799.999, -0.001, -1.5, -86_400.25,
    ])
    func formatsLikeTheReference(_ seconds: Double) {
        let date = Date(timeIntervalSince1970: seconds)
        #expect(AuditEntry.timestamp(date) == Self.reference(date), "\(seconds)")
    }

    @Test func aLeapDayAndItsParse() throws {
        let text = AuditEntry.timestamp(Date(timeIntervalSince1970: 951_782_400.5))
        #expect(text == "2000-02-29T00:00:00.500Z")
        #expect(try #require(AuditEntry.parseTimestamp(text)).timeIntervalSince1970 == 951_782_400.5)
    }
}
