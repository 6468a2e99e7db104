import Foundation
import SamromCore
import Sodium

/// The signalling hot path's parts timed alone, in this process: what each
/// relayed frame costs Samrom beyond what the bare stack does. The frames
/// are the relay scenario's (sealed offer and ICE candidate) and the chat
/// scenario's (two sealed copies).
public enum MicroBenchmarks {
    public static func run(iterations: Int) -> [String] {
        var lines: [String] = []
        func time(_ name: String, _ body: () -> Void) {
            for _ in 0..<min(iterations, 1000) { body() }
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<iterations { body() }
            let nanos = Double(DispatchTime.now().uptimeNanoseconds - start) / Double(iterations)
            lines.append(name.padding(toLength: max(44, name.count), withPad: " ", startingAt: 0) + String(format: " %9.2f µs", nanos / 1000))
        }

        let consultation = ConsultationID.random()
        let (veileder, deltaker) = (KeyExchange.KeyPair.generate(), KeyExchange.KeyPair.generate())
        let (sender, _) = try! RelayTraffic().sides(
            consultation: consultation, offerer: (.random(), veileder), answerer: (.random(), deltaker))
        let offer = sender.frame(0, nanos: 1_764_000_000_000)
        let ice = sender.frame(1, nanos: 1_764_000_000_000)
        let participant = ParticipantID.random()
        time("decode signal, offer (\(offer.utf8.count) B)") { _ = try? ClientMessage.decode(offer) }
        time("decode signal, ice (\(ice.utf8.count) B)") { _ = try? ClientMessage.decode(ice) }
        time("JSONSerialization signal, ice (reference)") { _ = try? JSONSerialization.jsonObject(with: Data(ice.utf8)) }
        time("JSONSerialization signal, offer (reference)") { _ = try? JSONSerialization.jsonObject(with: Data(offer.utf8)) }
        if case .signal(_, let signal)? = try? ClientMessage.decode(offer) {
            time("check a sealed offer's shape (part of decode)") { _ = try? signal.validated() }
            time("encode relayed signal, offer") { _ = ServerMessage.signal(from: participant, signal).encoded() }
        }
        if case .signal(_, let signal)? = try? ClientMessage.decode(ice) {
            time("encode relayed signal, ice") { _ = ServerMessage.signal(from: participant, signal).encoded() }
        }

        let id = "1764000000000000000-3-7"
        let chat = ChatScenario.chatFrame(
            .init(
                toPeer: try! PairChannel(consultation: consultation, own: deltaker, peer: veileder.publicKey),
                toSelf: try! PairChannel(consultation: consultation, own: deltaker, peer: deltaker.publicKey)),
            id: id)
        time("decode chat, 2 copies (\(chat.utf8.count) B)") { _ = try? ClientMessage.decode(chat) }
        if case .chat(let envelope)? = try? ClientMessage.decode(chat) {
            let stored = StoredChat(
                from: participant, senderRole: .deltaker, clientMsgId: envelope.clientMsgId, senderKeyId: envelope.senderKeyId,
                copy: envelope.copies[0], seq: 42, storedAt: Date())
            time("encode relayed chat copy") { _ = ServerMessage.chat(stored).encoded() }
        }
        time("encode chat ack") { _ = ServerMessage.chatAck(clientMsgId: id, seq: 42).encoded() }
        let event = AuditEvent(
            at: Date(), actor: .participant(participant, role: .deltaker), action: .join, consultation: .random(), outcome: .allowed,
            reason: "came back within the grace period", clientIP: "127.0.0.1")
        time("audit entry canonical bytes") { _ = AuditEntry(seq: 123_456, event: event).canonicalBytes() }
        // The audit log's leaf hash (what `samrom audit verify` spends its time on), by
        // both libraries on the same entry and into the same buffer: swift-crypto's is used.
        let entry = AuditEntry(seq: 123_456, event: event).canonicalBytes()
        var digest = [UInt8](repeating: 0, count: 32)
        entry.withUnsafeBytes { bytes in
            digest.withUnsafeMutableBytes { out in
                time("audit leaf hash, libsodium (\(entry.count) B)") { SHA256.hash(prefix: 0x00, bytes, into: out) }
                time("audit leaf hash, swift-crypto (\(entry.count) B)") { TreeHash.hash(prefix: 0x00, bytes, into: out) }
            }
        }
        return lines
    }
}
