import Foundation
import SamromCore
@testable import SamromServer
import Synchronization
import Testing

/// Issue 13, 5: a client that stops reading cannot make the server hold
/// more than the outbox's bytes for it (it held 1,024 messages of any size).
/// Issue 17: the outbox's writer runs only while there is something to write.
@Suite struct OutboxTests {
    static func signal(_ bytes: Int, _ tag: String = "A") -> ServerMessage {
        .signal(
            from: ParticipantID(rawValue: "p1"),
            SealedSignal(senderKeyId: "a", recipientKeyId: "b", nonce: tag, box: String(repeating: "A", count: bytes)))
    }

    /// A socket that records what it is given and, while shut, takes nothing
    /// (a client that stops reading).
    final class RecordingSink: OutboxSink {
        enum Written: Equatable {
            case text(String)
            case close(WebSocketCloseCode, String)
        }

        private let state: Mutex<(open: Bool, written: [Written])>

        init(open: Bool = true) { state = Mutex((open, [])) }

        var written: [Written] { state.withLock { $0.written } }
        func open() { state.withLock { $0.open = true } }

        func write(_ text: String) async throws {
            while !state.withLock({ $0.open }) { try await Task.sleep(for: .milliseconds(2)) }
            state.withLock { $0.written.append(.text(text)) }
        }

        func close(_ code: WebSocketCloseCode, reason: String) async throws {
            state.withLock { $0.written.append(.close(code, reason)) }
        }

        /// Waits (up to 10 s) until `count` items were written.
        func waitFor(_ count: Int) async throws -> [Written] {
            for _ in 0..<5000 where written.count < count { try await Task.sleep(for: .milliseconds(2)) }
            return written
        }
    }

    @Test func anOutboxIsBoundedInBytesAndClosesAsTooSlowWhenFull() async throws {
        let outbox = Outbox(maxBytes: 1 << 20)
        let sink = RecordingSink(open: false)
        outbox.attach(sink)
        var queued = 0
        // 48 KiB boxes: 21 fit in a MiB; 1,024 of them would be 48 MiB.
        while outbox.deliver(Self.signal(48 << 10)) { queued += 1 }
        #expect(queued == (1 << 20) / (256 + (48 << 10)))
        // Full: finished, so nothing more is taken, and once the client reads
        // again it gets what was queued, then the close.
        #expect(outbox.deliver(Self.signal(10)))
        sink.open()
        let written = try await sink.waitFor(queued + 1)
        #expect(written.count == queued + 1)
        #expect(written.last == .close(.policyViolation, "too-slow"))
    }

    @Test func writtenMessagesFreeTheirBytes() async throws {
        let outbox = Outbox(maxBytes: 100_000)
        let sink = RecordingSink()
        outbox.attach(sink)
        // 40 KB each: only two fit at once, but each leaves the count once written.
        for sent in 1...200 {
            #expect(outbox.deliver(Self.signal(40_000)))
            #expect(try await sink.waitFor(sent).count == sent)
        }
    }

    /// The writer stops when the queue is empty and starts again with the
    /// next message; messages go out in the order they were queued, and
    /// what was queued before the socket was attached goes out first.
    @Test func messagesGoOutInOrderAcrossIdlePeriods() async throws {
        let outbox = Outbox(maxBytes: 1 << 20)
        #expect(outbox.deliver(Self.signal(10, "0")))
        let sink = RecordingSink()
        outbox.attach(sink)
        var sent = 1
        for round in 0..<20 {
            for _ in 0..<(round % 4 + 1) {
                #expect(outbox.deliver(Self.signal(10, "\(sent)")))
                sent += 1
            }
            _ = try await sink.waitFor(sent)
        }
        let expected = (0..<sent).map { RecordingSink.Written.text(Self.signal(10, "\($0)").encoded()) }
        #expect(sink.written == expected)
    }

    @Test func nothingIsWrittenAfterTheCloseOrOnceTheConnectionIsGone() async throws {
        let closing = Outbox(maxBytes: 1 << 20)
        let sink = RecordingSink()
        closing.attach(sink)
        #expect(closing.deliver(Self.signal(10)))
        closing.close(.normal, reason: "left")
        #expect(closing.deliver(Self.signal(10)))
        closing.close(.policyViolation, reason: "again")
        _ = try await sink.waitFor(2)
        try await Task.sleep(for: .milliseconds(50))
        #expect(sink.written.count == 2)
        #expect(sink.written.last == .close(.normal, "left"))

        let gone = Outbox(maxBytes: 1 << 20)
        let shut = RecordingSink(open: false)
        gone.attach(shut)
        #expect(gone.deliver(Self.signal(10, "first")))
        #expect(gone.deliver(Self.signal(10, "second")))
        gone.finish()
        shut.open()
        try await Task.sleep(for: .milliseconds(50))
        // The write under way completes; the rest is dropped.
        #expect(shut.written.count <= 1)
    }

    /// A socket that fails on every write (the peer is gone).
    final class FailingSink: OutboxSink {
        let attempts = Mutex(0)
        func write(_ text: String) async throws {
            attempts.withLock { $0 += 1 }
            throw CancellationError()
        }
        func close(_ code: WebSocketCloseCode, reason: String) async throws {}
    }

    @Test func aFailedWriteStopsTheWriterForGood() async throws {
        let outbox = Outbox(maxBytes: 1 << 20)
        let sink = FailingSink()
        outbox.attach(sink)
        #expect(outbox.deliver(Self.signal(10)))
        #expect(outbox.deliver(Self.signal(10)))
        for _ in 0..<500 where sink.attempts.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(2)) }
        try await Task.sleep(for: .milliseconds(50))
        // Taken, not written: later messages are dropped and start no writer.
        #expect(outbox.deliver(Self.signal(10)))
        try await Task.sleep(for: .milliseconds(50))
        #expect(sink.attempts.withLock { $0 } == 1)
    }
}
