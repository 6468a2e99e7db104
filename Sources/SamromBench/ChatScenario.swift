import Foundation
import SamromCore
import Sodium
import Synchronization

/// Durable chat: pairs in a call, keys announced, each side sending sealed
/// envelopes (XChaCha20-Poly1305 with libsodium, as the browser does) and
/// keeping `chatWindow` unacknowledged. An envelope counts when its
/// `chat-ack` arrives, which the server sends only after the envelope is
/// committed to SQLite with fsync (`synchronous=FULL`).
enum ChatScenario {
    static func samrom(_ server: ServerProcess, _ target: SamromTarget, profile: BenchProfile) async throws -> BenchReport.Chat {
        let pairs = try await concurrently(profile.chatPairs, width: profile.setupConcurrency) { index in
            let pair = try await target.pair(index)
            let veileder = KeyExchange.KeyPair.generate()
            let deltaker = KeyExchange.KeyPair.generate()
            let consultation = ConsultationID(rawValue: pair.consultation)
            pair.veileder.send(#"{"type":"key","publicKey":"\#(Base64URL.encode(veileder.publicKey.bytes))"}"#)
            pair.deltaker.send(#"{"type":"key","publicKey":"\#(Base64URL.encode(deltaker.publicKey.bytes))"}"#)
            _ = try await SamromTarget.expect("key", on: pair.veileder, skipping: ["pong", "peer-joined"])
            _ = try await SamromTarget.expect("key", on: pair.deltaker, skipping: ["pong", "peer-joined"])
            return [
                (pair.veileder, try ChatCipher(consultation: consultation, role: .veileder, own: veileder, peer: deltaker.publicKey)),
                (pair.deltaker, try ChatCipher(consultation: consultation, role: .deltaker, own: deltaker, peer: veileder.publicKey)),
            ]
        }.flatMap { $0 }

        let warmup = profile.chatSeconds / 5
        let start = RelayTraffic.now()
        let measureFrom = start + UInt64(warmup * 1e9)
        let measureTo = measureFrom + UInt64(profile.chatSeconds * 1e9)
        let stop = StopFlag()
        let cpuBefore = server.cpuSeconds()
        let (acked, latency) = await withTaskGroup(of: (Int, Latency).self) { group in
            for (index, (socket, cipher)) in pairs.enumerated() {
                let (credits, creditSink) = AsyncStream<Void>.makeStream()
                group.addTask {
                    for sent in 0..<profile.chatWindow { socket.send(chatFrame(cipher, id: "\(RelayTraffic.now())-\(index)-\(sent)")) }
                    var sent = profile.chatWindow
                    for await _ in credits {
                        if stop.isSet { break }
                        socket.send(chatFrame(cipher, id: "\(RelayTraffic.now())-\(index)-\(sent)"))
                        sent += 1
                    }
                    return (0, Latency())
                }
                group.addTask {
                    var latency = Latency()
                    var acked = 0
                    var iterator = socket.inbound.makeAsyncIterator()
                    while let frame = await iterator.next() {
                        guard case .text(let text) = frame, text.contains(#""type":"chat-ack""#) else { continue }
                        let arrived = RelayTraffic.now()
                        if let sentAt = sentTime(inAck: text), arrived >= measureFrom, arrived < measureTo {
                            acked += 1
                            latency.record(nanos: arrived &- sentAt)
                        }
                        creditSink.yield()
                    }
                    creditSink.finish()
                    return (acked, latency)
                }
            }
            return await finishTimedRun(&group, after: warmup + profile.chatSeconds, stop: stop)
        }
        let cpu = server.cpuSeconds() - cpuBefore
        for (socket, _) in pairs { socket.close() }
        guard acked > 0 else { throw BenchError("no chat envelope was acknowledged") }
        let summary = latency.summary
        let perSecond = Double(acked) / profile.chatSeconds
        return BenchReport.Chat(
            ackedPerSec: perSecond, ackP50Ms: summary.p50Ms, ackP99Ms: summary.p99Ms, ackMaxMs: summary.maxMs, pairs: profile.chatPairs,
            serverCpuMsPerThousand: cpu * 1e6 / max(perSecond * (warmup + profile.chatSeconds + 0.3), 1))
    }

    /// A `chat` frame with a freshly sealed envelope, as the browser sends it.
    static func chatFrame(_ cipher: ChatCipher, id: String) -> String {
        let message = ChatCipher.Message(text: "Hei! Hvordan gikk turen i dag? \(id)", sentAt: "2026-12-02T10:00:00.000Z")
        guard let envelope = try? cipher.seal(message, clientMsgId: id) else { return #"{"type":"ping"}"# }
        return #"{"type":"chat","clientMsgId":"\#(envelope.clientMsgId)","senderKeyId":"\#(envelope.senderKeyId)","recipientKeyId":"\#(envelope.recipientKeyId)","nonce":"\#(envelope.nonce)","ciphertext":"\#(envelope.ciphertext)"}"#
    }

    /// The send time at the start of the acknowledged `clientMsgId`.
    static func sentTime(inAck text: String) -> UInt64? {
        guard let range = text.range(of: #""clientMsgId":""#) else { return nil }
        let digits = text[range.upperBound...].prefix { $0.isASCII && $0.isNumber }
        return UInt64(digits)
    }
}
