import Foundation
import Sodium

/// The call code everyone in a call reads aloud, agreed by commit-then-reveal
/// (docs/protocol.md, "The call code"): one participant's side of it, as a
/// value type that returns what to send, so honest runs and a key-substituting
/// relay can be played out in tests without sockets.
///
/// Whenever this participant's view of the call's keys changes it commits to
/// a fresh nonce for the key set `K`; once it holds a commitment for the same
/// `K` from every other participant it reveals; once every reveal is in and
/// matches its commitment, the code is the hash of `K` and every (key, nonce).
/// Because each side commits before it sees anyone's nonce, a relay that
/// substitutes keys cannot steer two different views to the same code.
public struct CallCode: Sendable {
    /// What to do after an event.
    public enum Output: Sendable, Equatable {
        /// Seal this payload for the participant with this key id.
        case send(to: String, SignalPayload)
        /// Everyone's reveal matched: show this code, "dddd dddd dddd".
        case code(String)
        /// The reveal of this key id did not match its commitment: warn, show no code.
        case mismatch(keyId: String)
    }

    public let ownKeyID: String
    private let ownPublicKey: KeyExchange.PublicKey
    /// Key id → public key of everyone in the current view, this device included.
    private var view: [String: KeyExchange.PublicKey] = [:]
    /// `K` of the current round: the view's key ids, sorted, joined with ",".
    public private(set) var keys = ""
    private var nonce: [UInt8] = []
    private var revealed = false
    /// Commitments and reveals by `K`, then by sender key id: a peer whose view
    /// changed before ours may commit to a `K` we reach a moment later.
    private var commitments: [String: [String: String]] = [:]
    private var reveals: [String: [String: String]] = [:]
    public private(set) var code: String?
    public private(set) var failed = false

    public init(own publicKey: KeyExchange.PublicKey) {
        ownPublicKey = publicKey
        ownKeyID = DeviceKey.keyID(publicKey)
    }

    /// Rounds held for key sets not reached yet, at most (a bound on what a peer can make us keep).
    public static let maxPendingRounds = 8

    /// The view of the call's keys changed (someone came, went, or changed
    /// key): a new round with a fresh nonce.
    public mutating func viewChanged(_ others: [KeyExchange.PublicKey], nonce fresh: [UInt8] = Random.bytes(32)) -> [Output] {
        var next: [String: KeyExchange.PublicKey] = [ownKeyID: ownPublicKey]
        for key in others { next[DeviceKey.keyID(key)] = key }
        let nextKeys = next.keys.sorted().joined(separator: ",")
        // The same key set is the same round: restarting it would contradict
        // the commitment the others already hold.
        guard nextKeys != keys else { return [] }
        // What was said in the round we leave is void; what arrived for the
        // round we enter (from peers who got there first) is kept.
        commitments[keys] = nil
        reveals[keys] = nil
        view = next
        keys = nextKeys
        nonce = fresh
        revealed = false
        code = nil
        failed = false
        guard view.count > 1 else { return [] }
        let commitment = Self.commitment(keys: keys, publicKey: ownPublicKey, nonce: nonce)
        var outputs = others.map { Output.send(to: DeviceKey.keyID($0), .commit(keys: keys, commitment: commitment)) }
        outputs += progress()
        return outputs
    }

    /// A `commit` or `reveal` from the participant with key id `from`; other kinds are not this type's.
    public mutating func received(_ payload: SignalPayload, from: String) -> [Output] {
        switch payload {
        case .commit(let k, let commitment):
            Self.remember(&commitments, k, from, commitment, current: keys, own: ownKeyID)
        case .reveal(let k, let nonce) where k == keys:  // a reveal answers our commitment: never one for another round
            Self.remember(&reveals, k, from, nonce, current: keys, own: ownKeyID)
        default:
            return []
        }
        return progress()
    }

    private static func remember(
        _ table: inout [String: [String: String]], _ k: String, _ from: String, _ value: String, current: String, own: String
    ) {
        // Only rounds that hold both the sender and this device, and not without bound:
        // when too many rounds wait, the ones not reached yet are dropped.
        let members = k.split(separator: ",")
        guard members.contains(Substring(from)), members.contains(Substring(own)), k.utf8.count <= 6 * 23 else { return }
        if table[k] == nil, table.count >= maxPendingRounds { table = table.filter { $0.key == current } }
        // In the current round the first commitment (and reveal) binds: a
        // participant cannot change its commitment once it may have seen ours.
        // For a round not reached yet the latest is kept.
        if k == current, table[k]?[from] != nil { return }
        table[k, default: [:]][from] = value
    }

    /// Reveals once every commitment is in; computes the code once every reveal is.
    private mutating func progress() -> [Output] {
        guard view.count > 1, code == nil, !failed else { return [] }
        let others = view.keys.filter { $0 != ownKeyID }.sorted()
        let committed = commitments[keys] ?? [:]
        guard others.allSatisfy({ committed[$0] != nil }) else { return [] }
        var outputs: [Output] = []
        if !revealed {
            revealed = true
            outputs += others.map { .send(to: $0, .reveal(keys: keys, nonce: Base64URL.encode(nonce))) }
        }
        let opened = reveals[keys] ?? [:]
        guard others.allSatisfy({ opened[$0] != nil }) else { return outputs }
        var nonces: [String: [UInt8]] = [ownKeyID: nonce]
        for keyID in others {
            guard let text = opened[keyID], let nonce = try? Base64URL.decode(text, length: 32), let publicKey = view[keyID],
                Self.commitment(keys: keys, publicKey: publicKey, nonce: nonce) == committed[keyID]
            else {
                failed = true
                return outputs + [.mismatch(keyId: keyID)]
            }
            nonces[keyID] = nonce
        }
        let code = Self.code(keys: keys, participants: view.map { ($0.value, nonces[$0.key]!) })
        self.code = code
        return outputs + [.code(code)]
    }

    /// b64u(crypto_generichash(32, "samrom/commit/v2|" + K + "|" + b64u(publicKey) + "|" + b64u(n)))
    public static func commitment(keys: String, publicKey: KeyExchange.PublicKey, nonce: [UInt8]) -> String {
        let input = "samrom/commit/v2|\(keys)|\(Base64URL.encode(publicKey.bytes))|\(Base64URL.encode(nonce))"
        return Base64URL.encode(try! GenericHash.hash(Array(input.utf8), length: 32))
    }

    /// The first 8 bytes, big-endian, of crypto_generichash(32, "samrom/call-code/v2|" + K + "|" + J)
    /// modulo 10^12, where J joins b64u(publicKey) + ":" + b64u(nonce) of every
    /// participant, sorted by public key bytes, with ";". Shown "dddd dddd dddd".
    public static func code(keys: String, participants: [(publicKey: KeyExchange.PublicKey, nonce: [UInt8])]) -> String {
        let joined = participants
            .sorted { $0.publicKey.bytes.lexicographicallyPrecedes($1.publicKey.bytes) }
            .map { "\(Base64URL.encode($0.publicKey.bytes)):\(Base64URL.encode($0.nonce))" }
            .joined(separator: ";")
        let digest = try! GenericHash.hash(Array("samrom/call-code/v2|\(keys)|\(joined)".utf8), length: 32)
        let number = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) } % 1_000_000_000_000
        let digits = Array(String(format: "%012llu", number))
        return [String(digits[0..<4]), String(digits[4..<8]), String(digits[8..<12])].joined(separator: " ")
    }
}
