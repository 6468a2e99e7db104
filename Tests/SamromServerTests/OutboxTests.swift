import SamromCore
@testable import SamromServer
import Testing

/// Issue 13, 5: a client that stops reading cannot make the server hold
/// more than the outbox's bytes for it (it held 1,024 messages of any size).
@Suite struct OutboxTests {
    static func signal(_ bytes: Int) -> ServerMessage {
        .signal(
            from: ParticipantID(rawValue: "p1"),
            SealedSignal(senderKeyId: "a", recipientKeyId: "b", nonce: "n", box: String(repeating: "A", count: bytes)))
    }

    @Test func anOutboxIsBoundedInBytesAndFinishesWhenFull() async {
        let outbox = Outbox(maxBytes: 1 << 20)
        var queued = 0
        // 48 KiB boxes: 21 fit in a MiB; 1,024 of them would be 48 MiB.
        while outbox.deliver(Self.signal(48 << 10)) { queued += 1 }
        #expect(queued == (1 << 20) / (256 + (48 << 10)))
        // Full: finished, so the writer closes the connection as too slow.
        var drained = 0
        for await item in outbox.stream {
            if case .message = item { drained += 1 }
        }
        #expect(drained == queued)
    }

    @Test func writtenMessagesFreeTheirBytes() async {
        let outbox = Outbox(maxBytes: 100_000)
        for _ in 0..<1000 {
            let message = Self.signal(40_000)
            #expect(outbox.deliver(message))
            outbox.written(message)
        }
        outbox.finish()
    }
}
