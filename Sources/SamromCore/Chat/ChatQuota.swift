/// How much chat one consultation may store: messages, and bytes of sealed
/// copies. Without it, one admitted participant could fill the disk; with
/// it, a message past the limit is refused with `chat-full`, and nothing
/// already stored is touched. A value type: the consultation's session
/// loads the stored totals once and keeps them.
public struct ChatQuota: Sendable, Equatable {
    public struct Limits: Sendable, Equatable {
        public var messages: Int
        public var bytes: Int

        /// A consultation is an hour or two; 5,000 messages and 64 MiB are
        /// far beyond any real one.
        public init(messages: Int = 5_000, bytes: Int = 64 << 20) {
            self.messages = messages
            self.bytes = bytes
        }
    }

    public let limits: Limits
    public private(set) var messages: Int
    public private(set) var bytes: Int

    public init(limits: Limits, messages: Int, bytes: Int) {
        self.limits = limits
        self.messages = messages
        self.bytes = bytes
    }

    /// The bytes an envelope's copies take when stored.
    public static func bytes(of envelope: ChatEnvelope) -> Int {
        envelope.copies.reduce(0) { $0 + $1.ciphertext.utf8.count + $1.nonce.utf8.count }
    }

    /// Counts a new message in, or refuses it.
    public mutating func add(_ envelope: ChatEnvelope) throws(SignalError) {
        let size = Self.bytes(of: envelope)
        guard messages < limits.messages, bytes + size <= limits.bytes else {
            throw SignalError(.chatFull, "this consultation's chat is full; nothing more can be stored")
        }
        messages += 1
        bytes += size
    }

    /// An envelope counted by `add` was not stored after all (a resend of
    /// one stored before, or the store failed).
    public mutating func takeBack(_ envelope: ChatEnvelope) {
        messages = max(0, messages - 1)
        bytes = max(0, bytes - Self.bytes(of: envelope))
    }
}
