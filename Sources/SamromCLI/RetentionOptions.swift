import ArgumentParser
import Foundation
import SamromServer

/// `--chat-retention-days` and `--audit-retention-days`, for `serve`,
/// `doctor` and `purge` alike: one default, one range, one reading.
struct RetentionOptions: ParsableArguments {
    @Option(name: .customLong("audit-retention-days"), help: "Erase the content of audit entries older than this (default 1826, five years).")
    var auditRetentionDays: Int = Int(ServerConfiguration().auditRetention / 86_400)
    @Option(name: .customLong("chat-retention-days"), help: "Delete sealed chat copies this long after a consultation closed (default 30).")
    var chatRetentionDays: Int = Int(ServerConfiguration().chatRetention / 86_400)

    func validate() throws {
        for (flag, days, range) in [
            ("--audit-retention-days", auditRetentionDays, ServerConfiguration.auditRetentionDaysRange),
            ("--chat-retention-days", chatRetentionDays, ServerConfiguration.chatRetentionDaysRange),
        ] where !range.contains(days) {
            throw ValidationError("\(flag) must be \(range.lowerBound) to \(range.upperBound)")
        }
    }

    func apply(to configuration: inout ServerConfiguration) {
        configuration.auditRetention = TimeInterval(auditRetentionDays) * 86_400
        configuration.chatRetention = TimeInterval(chatRetentionDays) * 86_400
    }
}
