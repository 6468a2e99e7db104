import Foundation
import Metrics
import SamromCore
import Sodium

/// The end-to-end chat relay: the hub stores and forwards public keys and
/// opaque envelopes between the veileder and the admitted deltaker of one
/// consultation. It can never read a message.
extension SignallingHub {
    /// Who may chat here: the veileder (the owner, checked at hello) and a
    /// deltaker who is in the call (admitted, or resumed).
    private func chatMember(_ id: ConnectionID, in consultation: ConsultationID) throws(SignalError) -> ServerMessage.Peer {
        guard let member = rooms[consultation]?.member(id) else { throw SignalError(.helloRequired, "say hello first") }
        guard member.inCall else { throw SignalError(.notAdmitted, "wait until the veileder lets you in") }
        return member.peer
    }

    func announceKey(_ publicKey: KeyExchange.PublicKey, from id: ConnectionID, in consultation: ConsultationID) async {
        do {
            let peer = try chatMember(id, in: consultation)
            let previous = try await store.storeChatKey(publicKey.bytes, consultation: consultation, role: peer.role, at: clock.now)
            let keyID = ChatKey.keyID(publicKey)
            if rooms[consultation] != nil { chatKeyIDs[consultation, default: [:]][peer.role] = keyID }
            if let connection = connections[id] {
                try await audit(
                    .chatKey, actor(peer), consultation, .allowed,
                    previous == nil ? "announced a chat key \(keyID)" : "changed its chat key to \(keyID)", connection)
            }
            if let other = rooms[consultation]?.counterpart(of: id) {
                send(
                    .key(from: peer.participant, role: peer.role, publicKey: Base64URL.encode(publicKey.bytes), keyId: keyID,
                         changed: previous != nil),
                    to: other)
            }
        } catch {
            fail(id, error, mayClose: false)
        }
    }

    func chat(_ envelope: ChatEnvelope, from id: ConnectionID, in consultation: ConsultationID) async {
        do {
            let peer = try chatMember(id, in: consultation)
            guard try await announcedKeyID(of: peer.role, in: consultation) == envelope.senderKeyId else {
                throw SignalError(.badField, "\"senderKeyId\" is not the key you announced; send \"key\" first")
            }
            let (stored, duplicate) = try await store.appendChat(envelope, consultation: consultation, senderRole: peer.role, at: clock.now)
            metrics.chatMessages.increment()
            // Acknowledged only now that it is on disk; a resend is acknowledged again, never stored twice.
            send(.chatAck(clientMsgId: envelope.clientMsgId, seq: stored.seq), to: id)
            if !duplicate, let other = rooms[consultation]?.counterpart(of: id) {
                send(.chat(from: peer.participant, stored), to: other)
            }
        } catch {
            fail(id, error, mayClose: false)
        }
    }

    func history(afterSeq: UInt64?, limit: Int, for id: ConnectionID, in consultation: ConsultationID) async {
        do {
            let peer = try chatMember(id, in: consultation)
            guard let connection = connections[id] else { return }
            try await audit(.chatHistory, actor(peer), consultation, .allowed, "read the chat history (ciphertext)", connection)
            let page = try await store.chatHistory(consultation: consultation, afterSeq: afterSeq, limit: limit + 1)
            send(.history(messages: Array(page.prefix(limit)), more: page.count > limit), to: id)
        } catch {
            fail(id, error, mayClose: false)
        }
    }

    /// The role's current key id: from memory, or once from the store (a key
    /// announced before the server restarted).
    private func announcedKeyID(of role: ParticipantRole, in consultation: ConsultationID) async throws -> String? {
        if let known = chatKeyIDs[consultation]?[role] { return known }
        guard let key = try await store.chatKey(consultation: consultation, role: role),
            let publicKey = try? KeyExchange.PublicKey(key)
        else { return nil }
        let keyID = ChatKey.keyID(publicKey)
        if rooms[consultation] != nil { chatKeyIDs[consultation, default: [:]][role] = keyID }
        return keyID
    }

    /// Sends `peer`'s stored chat key to `id`, so someone who comes later
    /// still learns the other's current key.
    func deliverStoredKey(of peer: ServerMessage.Peer, to id: ConnectionID, in consultation: ConsultationID) async {
        guard let key = try? await store.chatKey(consultation: consultation, role: peer.role),
            let publicKey = try? KeyExchange.PublicKey(key)
        else { return }
        send(
            .key(from: peer.participant, role: peer.role, publicKey: Base64URL.encode(key), keyId: ChatKey.keyID(publicKey), changed: false),
            to: id)
    }

    private func actor(_ peer: ServerMessage.Peer) -> AuditActor {
        peer.role == .veileder
            ? (veilederAccount(of: peer.participant).map(AuditActor.user) ?? .participant(peer.participant, role: .veileder))
            : .participant(peer.participant, role: peer.role)
    }
}
