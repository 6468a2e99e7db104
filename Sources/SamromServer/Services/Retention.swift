import Foundation
import SamromCore
import SamromStore

/// Applies the retention periods: chat copies go `chatRetention`
/// after their consultation ended or expired; audit entries older than
/// `auditRetention` lose their content, oldest first (their leaf hashes stay,
/// so the log still verifies; see AuditErasure). Run hourly by `serve` and at once by `samrom purge`; each
/// run that erases something is itself logged, with counts only.
public enum Retention {
    public struct Result: Sendable, Equatable {
        /// Sealed copies (one per recipient key of each message).
        public var chatCopiesDeleted: Int
        public var auditEntriesErased: Int
    }

    public static func run(store: any SamromStorage, auditor: Auditor, configuration: ServerConfiguration, clock: WallClock) async throws -> Result {
        let chat = try await store.purgeChat(closedBefore: clock.now.addingTimeInterval(-configuration.chatRetention))
        if chat > 0 {
            try await auditor.record(
                .purge, actor: .system, outcome: .allowed,
                reason: "retention: deleted \(chat) sealed chat copies of consultations closed over \(Int(configuration.chatRetention / 86_400)) days ago",
                clientIP: nil)
        }
        let cutoff = clock.now.addingTimeInterval(-configuration.auditRetention)
        let now = clock.now
        let erasure = try await store.eraseAuditContent(before: cutoff) { erasure in
            // The verifier accepts erased entries only as far as this says.
            AuditEvent(
                at: now, actor: .system, action: .purge, outcome: .allowed,
                reason: AuditErasure.reason(erasedBefore: erasure.end, olderThan: cutoff, count: erasure.erased),
                clientIP: nil)
        }
        return Result(chatCopiesDeleted: chat, auditEntriesErased: erasure.erased)
    }
}
