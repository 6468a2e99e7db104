import Foundation
import SamromCore
import Sodium

/// The signalling hot path's parts timed alone, in this process: what each
/// relayed frame costs Samrom beyond what the bare stack does.
public enum MicroBenchmarks {
    public static func run(iterations: Int) -> [String] {
        let traffic = RelayTraffic()
        let offer = traffic.frame(0, first: true, nanos: 1_764_000_000_000)
        let ice = traffic.frame(1, first: true, nanos: 1_764_000_000_000)
        let participant = ParticipantID.random()
        var lines: [String] = []
        func time(_ name: String, _ body: () -> Void) {
            for _ in 0..<min(iterations, 1000) { body() }
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<iterations { body() }
            let nanos = Double(DispatchTime.now().uptimeNanoseconds - start) / Double(iterations)
            lines.append(String(format: "%-44@ %9.2f µs", name as NSString, nanos / 1000))
        }
        let parsedOffer = try! ClientMessage.decode(offer)
        let parsedIce = try! ClientMessage.decode(ice)
        time("decode offer (\(offer.utf8.count) B)") { _ = try? ClientMessage.decode(offer) }
        time("decode ice (\(ice.utf8.count) B)") { _ = try? ClientMessage.decode(ice) }
        time("JSONSerialization ice (reference)") { _ = try? JSONSerialization.jsonObject(with: Data(ice.utf8)) }
        time("JSONSerialization offer (reference)") { _ = try? JSONSerialization.jsonObject(with: Data(offer.utf8)) }
        if case .offer(let sdp) = parsedOffer {
            time("encode relayed offer") { _ = ServerMessage.offer(from: participant, sdp: sdp).encoded() }
        }
        if case .ice(let candidate) = parsedIce {
            time("encode relayed ice") { _ = ServerMessage.ice(from: participant, candidate: candidate).encoded() }
        }
        let envelope = ChatEnvelope(
            clientMsgId: "m-000001", senderKeyId: "KLqljBKXTshj1Sut3V6mog", recipientKeyId: "CMJeJrqz_SgUHVWZmhVDuA",
            nonce: Base64URL.encode([UInt8](repeating: 7, count: 24)),
            ciphertext: Base64URL.encode([UInt8](repeating: 9, count: 16 + 256)))
        let chat = """
            {"type":"chat","clientMsgId":"\(envelope.clientMsgId)","senderKeyId":"\(envelope.senderKeyId)",\
            "recipientKeyId":"\(envelope.recipientKeyId)","nonce":"\(envelope.nonce)","ciphertext":"\(envelope.ciphertext)"}
            """
        time("decode chat (\(chat.utf8.count) B)") { _ = try? ClientMessage.decode(chat) }
        let stored = StoredChat(envelope: envelope, seq: 42, senderRole: .deltaker, storedAt: Date())
        time("encode relayed chat") { _ = ServerMessage.chat(from: participant, stored).encoded() }
        time("encode chat ack") { _ = ServerMessage.chatAck(clientMsgId: envelope.clientMsgId, seq: 42).encoded() }
        let event = AuditEvent(
            at: Date(), actor: .participant(participant, role: .deltaker), action: .join, consultation: .random(), outcome: .allowed,
            reason: "came back within the grace period", clientIP: "127.0.0.1")
        time("audit entry canonical bytes") { _ = AuditEntry(seq: 123_456, event: event).canonicalBytes() }
        return lines
    }
}
