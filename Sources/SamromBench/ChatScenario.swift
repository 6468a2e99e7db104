import Foundation
import SamromCore
import Sodium
import Synchronization

/// Durable chat: pairs in a call, keys announced, each side sending messages
/// as the browser does (one copy sealed for the peer's key and one for its
/// own, XChaCha20-Poly1305 with libsodium through `PairChannel`) and keeping
/// `chatWindow` unacknowledged. A message counts when its `chat-ack` arrives,
/// which the server sends only after both copies are committed to SQLite
/// with fsync (`synchronous=FULL`).
enum ChatScenario {
    /// What one side seals with: a channel to the peer and one to itself.
    struct Sender: Sendable {
        let toPeer: PairChannel
        let toSelf: PairChannel
    }

    static func samrom(_ server: ServerProcess, _ target: SamromTarget, profile: BenchProfile) async throws -> BenchReport.Chat {
        let pairs = try await concurrently(profile.chatPairs, width: profile.setupConcurrency) { index in
            let pair = try await target.pair(index)
            func sender(_ me: SamromTarget.Participant, _ peer: SamromTarget.Participant) throws -> (BenchSocket, Sender) {
                let own = try PairChannel(consultation: pair.consultation, own: me.keys, peer: me.keys.publicKey)
                let toPeer = try PairChannel(consultation: pair.consultation, own: me.keys, peer: peer.keys.publicKey)
                return (me.socket, Sender(toPeer: toPeer, toSelf: own))
            }
            return [try sender(pair.veileder, pair.deltaker), try sender(pair.deltaker, pair.veileder)]
        }.flatMap { $0 }

        let warmup = profile.chatSeconds / 5
        let start = RelayTraffic.now()
        let measureFrom = start + UInt64(warmup * 1e9)
        let measureTo = measureFrom + UInt64(profile.chatSeconds * 1e9)
        let stop = StopFlag()
        let cpuBefore = server.cpuSeconds()
        let (acked, latency) = await withTaskGroup(of: (Int, Latency).self) { group in
            for (index, (socket, sender)) in pairs.enumerated() {
                let (credits, creditSink) = AsyncStream<Void>.makeStream()
                group.addTask {
                    for sent in 0..<profile.chatWindow { socket.send(chatFrame(sender, id: "\(RelayTraffic.now())-\(index)-\(sent)")) }
                    var sent = profile.chatWindow
                    for await _ in credits {
                        if stop.isSet { break }
                        socket.send(chatFrame(sender, id: "\(RelayTraffic.now())-\(index)-\(sent)"))
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

    /// A `chat` frame with two freshly sealed copies, as the browser sends it.
    static func chatFrame(_ sender: Sender, id: String) -> String {
        let message = PairChannel.ChatText(text: "Hei! Hvordan gikk turen i dag? \(id)", sentAt: "2026-12-02T10:00:00.000Z")
        guard let peer = try? sender.toPeer.sealChat(message, clientMsgId: id), let own = try? sender.toSelf.sealChat(message, clientMsgId: id)
        else { return #"{"type":"ping"}"# }
        let copies = [peer, own].map {
            #"{"recipientKeyId":"\#($0.recipientKeyId)","nonce":"\#($0.nonce)","ciphertext":"\#($0.ciphertext)"}"#
        }
        return #"{"type":"chat","clientMsgId":"\#(id)","senderKeyId":"\#(sender.toPeer.ownKeyID)","copies":[\#(copies.joined(separator: ","))]}"#
    }

    /// The send time at the start of the acknowledged `clientMsgId`.
    static func sentTime(inAck text: String) -> UInt64? {
        guard let range = text.range(of: #""clientMsgId":""#) else { return nil }
        let digits = text[range.upperBound...].prefix { $0.isASCII && $0.isNumber }
        return UInt64(digits)
    }
}
