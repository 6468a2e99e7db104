import Foundation

/// One line of `samrom doctor`'s answer: what was checked, how it stands,
/// and in plain words what is wrong and what to do.
public struct DoctorFinding: Sendable, Equatable, CustomStringConvertible {
    public enum Check: String, Sendable, CaseIterable {
        case certificate, dataDirectory = "data-directory", store, publicOrigin = "public-origin", turn, retention, clock, disk
    }

    /// A problem makes `samrom doctor` exit non-zero; a warning is worth
    /// reading but may be right for this set-up.
    public enum Severity: Int, Sendable, Comparable {
        case ok, warning, problem

        public static func < (a: Severity, b: Severity) -> Bool { a.rawValue < b.rawValue }

        public var label: String {
            switch self {
            case .ok: "ok"
            case .warning: "warning"
            case .problem: "PROBLEM"
            }
        }
    }

    public let check: Check
    public let severity: Severity
    public let message: String

    public init(_ check: Check, _ severity: Severity, _ message: String) {
        self.check = check
        self.severity = severity
        self.message = message
    }

    public static func ok(_ check: Check, _ message: String) -> Self { .init(check, .ok, message) }
    public static func warning(_ check: Check, _ message: String) -> Self { .init(check, .warning, message) }
    public static func problem(_ check: Check, _ message: String) -> Self { .init(check, .problem, message) }

    /// `PROBLEM  certificate     it expired on 2026-11-30`: columns for a terminal.
    public var description: String {
        severity.label.padding(toLength: 9, withPad: " ", startingAt: 0)
            + check.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0) + message
    }
}
