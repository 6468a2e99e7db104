import Foundation

/// Repeated refusals of anyone not logged in are summed, not logged one by
/// one: the first refusal of a kind from an address in a minute is an audit
/// entry of its own; the rest of that minute's are one entry, "N more".
/// Without this, anyone could make the server write durable entries without
/// limit (a refused `hello` per frame, a throttled login per request). A
/// value type with time passed in; the `Auditor` carries out its decisions.
public struct RefusalTally: Sendable {
    /// The refusal without its time: refusals with the same key are summed.
    public struct Key: Hashable, Sendable {
        public var actor: AuditActor
        public var action: AuditAction
        public var consultation: ConsultationID?
        public var reason: String
        public var clientIP: String?

        public init(_ event: AuditEvent) {
            actor = event.actor
            action = event.action
            consultation = event.consultation
            reason = event.reason
            clientIP = event.clientIP
        }
    }

    /// "N more like this in the minute from `start`": one entry.
    public struct Summary: Sendable, Equatable {
        public var key: Key
        public var start: Date
        public var count: Int

        public func event(at now: Date) -> AuditEvent {
            AuditEvent(
                at: now, actor: key.actor, action: key.action, consultation: key.consultation, outcome: .denied,
                reason: "\(count) more refused attempts like this from this address in the minute from "
                    + "\(AuditEntry.timestamp(start)): \(key.reason)",
                clientIP: key.clientIP)
        }
    }

    struct Window: Sendable {
        var start: Date
        var more: Int
    }

    public var window: TimeInterval
    /// Bounds the memory used by refusals from very many addresses: past it,
    /// refusals are summed without their address.
    public var maxKeys: Int
    private var windows: [Key: Window] = [:]

    public init(window: TimeInterval = 60, maxKeys: Int = 10_000) {
        self.window = window
        self.maxKeys = maxKeys
    }

    /// The entries to write for this refusal: itself when it is the first
    /// of its kind in its minute, after the summary of its kind's previous
    /// minute if that one has ended unreported; nothing when it is counted.
    public mutating func refuse(_ event: AuditEvent) -> [AuditEvent] {
        var key = Key(event)
        if windows[key] == nil, windows.count >= maxKeys { key.clientIP = nil }
        var entries: [AuditEvent] = []
        if var open = windows[key] {
            if event.at.timeIntervalSince(open.start) < window {
                open.more += 1
                windows[key] = open
                return []
            }
            if open.more > 0 { entries.append(Summary(key: key, start: open.start, count: open.more).event(at: event.at)) }
        }
        windows[key] = Window(start: event.at, more: 0)
        var own = event
        own.clientIP = key.clientIP
        entries.append(own)
        return entries
    }

    /// Summaries of the minutes that have ended, which are then forgotten.
    public mutating func due(now: Date) -> [Summary] {
        var summaries: [Summary] = []
        for (key, open) in windows where now.timeIntervalSince(open.start) >= window {
            if open.more > 0 { summaries.append(Summary(key: key, start: open.start, count: open.more)) }
            windows[key] = nil
        }
        return summaries.sorted { $0.start < $1.start }
    }
}
