import Foundation
import SamromCore
import Sodium
import Testing

/// The Swift reference client's end-to-end crypto (docs/protocol.md, "End-to-end
/// keys and sealing" and "The call code"): pair channels, sealed signals and
/// chat copies, the self-copy, and the call code's commit-then-reveal, with
/// honest calls, a key-substituting relay, and tampering.
@Suite struct EndToEndTests {
    static let consultation = ConsultationID(rawValue: "7f14QGE6RccA1oCVrjP05g")
    static let elsewhere = ConsultationID(rawValue: "AAAAAAAAAAAAAAAAAAAAAA")

    static func seeded(_ byte: UInt8) -> KeyExchange.KeyPair {
        try! KeyExchange.KeyPair.fromSeed(SecureBytes(Array(repeating: byte, count: 32)))
    }

    static let veileder = seeded(1)
    static let deltaker = seeded(2)
    static let tolk = seeded(3)

    static func channel(_ own: KeyExchange.KeyPair, _ peer: KeyExchange.KeyPair, in consultation: ConsultationID = consultation) throws
        -> PairChannel
    {
        try PairChannel(consultation: consultation, own: own, peer: peer.publicKey)
    }

    static func stored(_ copy: ChatCopy, clientMsgId: String, sender: KeyExchange.KeyPair) -> StoredChat {
        StoredChat(
            from: ParticipantID(rawValue: "p-sender"), senderRole: .deltaker, clientMsgId: clientMsgId,
            senderKeyId: DeviceKey.keyID(sender.publicKey), copy: copy, seq: 1, storedAt: Date(timeIntervalSince1970: 1_764_000_000))
    }

    static func flipped(_ text: String, at index: Int = 0) -> String {
        var bytes = try! Base64URL.decode(text)
        bytes[index] ^= 0x01
        return Base64URL.encode(bytes)
    }

    // MARK: Pair channels

    @Test func everySignalKindRoundTripsBothWays() throws {
        let payloads: [SignalPayload] = [
            .offer(sdp: "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"),
            .answer(sdp: "v=0\r\n"),
            .ice(.init(candidate: "candidate:842163049 1 udp 1677729535 192.0.2.10 3478 typ srflx", sdpMid: "0", sdpMLineIndex: 0, usernameFragment: "Ab3d")),
            .ice(nil),
            .media(video: false),
            .media(video: true, audio: false),
            .profile(name: "Kari – tolk (arabisk) 🙂"),
            .commit(keys: "a,b", commitment: Base64URL.encode([UInt8](repeating: 7, count: 32))),
            .reveal(keys: "a,b", nonce: Base64URL.encode([UInt8](repeating: 8, count: 32))),
            .unknown(kind: "raise-hand"),
        ]
        let pairs = [(Self.veileder, Self.deltaker), (Self.deltaker, Self.veileder), (Self.tolk, Self.veileder), (Self.deltaker, Self.tolk)]
        for (from, to) in pairs {
            let out = try Self.channel(from, to)
            let back = try Self.channel(to, from)
            for payload in payloads {
                let sealed = try out.seal(payload)
                #expect(try sealed.validated() == sealed)
                #expect(sealed.senderKeyId == DeviceKey.keyID(from.publicKey))
                #expect(sealed.recipientKeyId == DeviceKey.keyID(to.publicKey))
                #expect(try back.open(sealed) == payload)
                // Only the pair can open it: not the sender's own channel back, not a third party.
                #expect(throws: (any Error).self) { try out.open(sealed) }
            }
        }
    }

    @Test func unknownKindsAreKeptAsUnknownAndMissingFieldsAreRefused() throws {
        #expect(try SignalPayload(json: Array(#"{"kind":"wave","hand":"left"}"#.utf8)) == .unknown(kind: "wave"))
        #expect(try SignalPayload(json: Array(#"{"kind":"ice","candidate":null}"#.utf8)) == .ice(nil))
        for bad in [#"{"kind":"offer"}"#, #"{"kind":"media"}"#, #"{"kind":"commit","keys":"a"}"#, #"{"sdp":"v=0"}"#, "[]"] {
            #expect(throws: (any Error).self, "\(bad)") { try SignalPayload(json: Array(bad.utf8)) }
        }
    }

    @Test func theMediaSignalsMicrophoneIsOptionalAndLeftOutWhenNotSaid() throws {
        // The bytes: sorted keys, and no `audio` at all when it is not said (what older clients send).
        #expect(String(decoding: try SignalPayload.media(video: false).json(), as: UTF8.self) == #"{"kind":"media","video":false}"#)
        #expect(String(decoding: try SignalPayload.media(video: true, audio: false).json(), as: UTF8.self) == #"{"audio":false,"kind":"media","video":true}"#)
        for payload in [SignalPayload.media(video: true), .media(video: true, audio: true), .media(video: false, audio: false)] {
            #expect(try SignalPayload(json: try payload.json()) == payload)
        }
        #expect(try SignalPayload(json: Array(#"{"kind":"media","video":true}"#.utf8)) == .media(video: true, audio: nil))
        #expect(try SignalPayload(json: Array(#"{"kind":"media","video":false,"audio":true}"#.utf8)) == .media(video: false, audio: true))
        // An `audio` that is not a boolean is dropped, as the browser drops it; `video` stays required.
        for odd in [#""off""#, "0", "null", #"{"on":true}"#] {
            #expect(try SignalPayload(json: Array(#"{"kind":"media","video":true,"audio":\#(odd)}"#.utf8)) == .media(video: true), "\(odd)")
        }
        for bad in [#"{"kind":"media","audio":true}"#, #"{"kind":"media","video":"yes","audio":true}"#] {
            #expect(throws: (any Error).self, "\(bad)") { try SignalPayload(json: Array(bad.utf8)) }
        }
    }

    @Test func boxesArePaddedSoLengthsLeakOnlyBlocks() throws {
        let out = try Self.channel(Self.deltaker, Self.veileder)
        let short = try out.seal(.media(video: true))
        let longer = try out.seal(.profile(name: String(repeating: "x", count: 200)))
        #expect(short.box.count == longer.box.count)
        #expect(try Base64URL.decode(short.box).count == 16 + 256)
        let big = try out.seal(.offer(sdp: "v=0\r\n" + String(repeating: "a", count: 300)))
        #expect(try Base64URL.decode(big.box).count == 16 + 512)
        let a = try out.sealChat(.init(text: "ja", sentAt: "2026-11-24T09:31:00.000Z"), clientMsgId: "a")
        let b = try out.sealChat(.init(text: String(repeating: "x", count: 60), sentAt: "2026-11-24T09:31:00.000Z"), clientMsgId: "b")
        #expect(a.ciphertext.count == b.ciphertext.count)
        #expect(try Base64URL.decode(a.ciphertext).count == 16 + 128)
    }

    @Test func tamperingWithASignalFailsToOpen() throws {
        let out = try Self.channel(Self.deltaker, Self.veileder)
        let back = try Self.channel(Self.veileder, Self.deltaker)
        let sealed = try out.seal(.offer(sdp: "v=0\r\n"))
        let otherKeyID = DeviceKey.keyID(Self.tolk.publicKey)
        var tampered: [(String, SealedSignal)] = []
        for index in [0, 100, 271] {
            var copy = sealed
            copy.box = Self.flipped(sealed.box, at: index)
            tampered.append(("box byte \(index)", copy))
        }
        var nonce = sealed
        nonce.nonce = Self.flipped(sealed.nonce, at: 5)
        tampered.append(("nonce", nonce))
        var sender = sealed
        sender.senderKeyId = otherKeyID
        tampered.append(("senderKeyId", sender))
        var recipient = sealed
        recipient.recipientKeyId = otherKeyID
        tampered.append(("recipientKeyId", recipient))
        var swapped = sealed
        (swapped.senderKeyId, swapped.recipientKeyId) = (sealed.recipientKeyId, sealed.senderKeyId)
        tampered.append(("both key ids swapped", swapped))
        var truncated = sealed
        truncated.box = Base64URL.encode(try Base64URL.decode(sealed.box).dropLast(256))
        tampered.append(("a block cut off", truncated))
        for (what, signal) in tampered {
            #expect(throws: (any Error).self, "a changed \(what) must not open") { try back.open(signal) }
        }
        // The same pair in another consultation cannot open it.
        #expect(throws: (any Error).self) { try Self.channel(Self.veileder, Self.deltaker, in: Self.elsewhere).open(sealed) }
        #expect(try back.open(sealed) == .offer(sdp: "v=0\r\n"))
    }

    /// The key ids are bound by the associated data, not only checked by
    /// `PairChannel`: opening with the right key but another key id in the
    /// associated data fails in libsodium itself.
    @Test func theKeyIdsAndConsultationAreInTheAssociatedData() throws {
        let sealed = try Self.channel(Self.deltaker, Self.veileder).seal(.media(video: false))
        // The deltaker's key is higher, so it is the kx server; the veileder's rx opens.
        let rx = try KeyExchange.clientSessionKeys(Self.veileder, serverPublicKey: Self.deltaker.publicKey).rx
        let box = try Base64URL.decode(sealed.box)
        let nonce = try Base64URL.decode(sealed.nonce)
        let good = PairChannel.signalAD(consultation: Self.consultation, senderKeyID: sealed.senderKeyId, recipientKeyID: sealed.recipientKeyId)
        #expect(throws: Never.self) { try XChaCha20Poly1305.open(box, additionalData: good, nonce: nonce, key: rx) }
        let bad = [
            PairChannel.signalAD(consultation: Self.elsewhere, senderKeyID: sealed.senderKeyId, recipientKeyID: sealed.recipientKeyId),
            PairChannel.signalAD(consultation: Self.consultation, senderKeyID: sealed.recipientKeyId, recipientKeyID: sealed.senderKeyId),
            PairChannel.signalAD(consultation: Self.consultation, senderKeyID: DeviceKey.keyID(Self.tolk.publicKey), recipientKeyID: sealed.recipientKeyId),
            PairChannel.chatAD(consultation: Self.consultation, clientMsgId: "m", senderKeyID: sealed.senderKeyId, recipientKeyID: sealed.recipientKeyId),
        ]
        for ad in bad {
            #expect(throws: (any Error).self) { try XChaCha20Poly1305.open(box, additionalData: ad, nonce: nonce, key: rx) }
        }
    }

    @Test func tamperingWithAChatCopyFailsToOpen() throws {
        let out = try Self.channel(Self.deltaker, Self.veileder)
        let back = try Self.channel(Self.veileder, Self.deltaker)
        let text = PairChannel.ChatText(text: "Hei! Jeg er litt sein i dag.", sentAt: "2026-11-24T09:30:00.000Z")
        let copy = try out.sealChat(text, clientMsgId: "m-0001")
        let good = Self.stored(copy, clientMsgId: "m-0001", sender: Self.deltaker)
        #expect(try back.openChat(good) == text)
        let other = DeviceKey.keyID(Self.tolk.publicKey)
        var cases: [(String, StoredChat)] = []
        var c = good
        c.copy.ciphertext = Self.flipped(copy.ciphertext, at: 40)
        cases.append(("ciphertext", c))
        c = good
        c.copy.nonce = Self.flipped(copy.nonce, at: 23)
        cases.append(("nonce", c))
        c = good
        c.clientMsgId = "m-0002"
        cases.append(("clientMsgId", c))
        c = good
        c.senderKeyId = other
        cases.append(("senderKeyId", c))
        c = good
        c.copy.recipientKeyId = other
        cases.append(("recipientKeyId", c))
        for (what, stored) in cases {
            #expect(throws: (any Error).self, "a changed \(what) must not open") { try back.openChat(stored) }
        }
        #expect(throws: (any Error).self) { try Self.channel(Self.veileder, Self.deltaker, in: Self.elsewhere).openChat(good) }
        // Who stored it and when is the server's, not sealed: those may differ.
        var relabelled = good
        relabelled.seq = 99
        relabelled.senderRole = .tolk
        #expect(try back.openChat(relabelled) == text)
    }

    /// Of two keys the lower (as bytes) is the kx client: whatever the order
    /// the two sides set up their channels in, one side's tx is the other's rx.
    @Test func theLowerKeyRuleGivesBothSidesMatchingKeys() throws {
        var pairs = [(Self.veileder, Self.deltaker), (Self.deltaker, Self.tolk), (Self.tolk, Self.veileder)]
        pairs += (0..<24).map { _ in (KeyExchange.KeyPair.generate(), KeyExchange.KeyPair.generate()) }
        for (a, b) in pairs {
            let ab = try Self.channel(a, b)
            let ba = try Self.channel(b, a)
            #expect(try ba.open(ab.seal(.media(video: true))) == .media(video: true))
            #expect(try ab.open(ba.seal(.media(video: false, audio: true))) == .media(video: false, audio: true))
            let text = PairChannel.ChatText(text: "hei", sentAt: "2026-11-24T09:30:00.000Z")
            #expect(try ba.openChat(Self.stored(ab.sealChat(text, clientMsgId: "x"), clientMsgId: "x", sender: a)) == text)
            // And it is the lower key that used the client side of crypto_kx.
            let (lower, higher) = a.publicKey.bytes.lexicographicallyPrecedes(b.publicKey.bytes) ? (a, b) : (b, a)
            let client = try KeyExchange.clientSessionKeys(lower, serverPublicKey: higher.publicKey)
            let server = try KeyExchange.serverSessionKeys(higher, clientPublicKey: lower.publicKey)
            #expect(client.tx == server.rx && client.rx == server.tx)
            let fromLower = try Self.channel(lower, higher).seal(.media(video: true))
            let ad = PairChannel.signalAD(consultation: Self.consultation, senderKeyID: fromLower.senderKeyId, recipientKeyID: fromLower.recipientKeyId)
            let plain = try XChaCha20Poly1305.open(
                try Base64URL.decode(fromLower.box), additionalData: ad, nonce: try Base64URL.decode(fromLower.nonce), key: server.rx)
            #expect(try Padding.unpad(plain.copyBytes(), blockSize: 256) == SignalPayload.media(video: true).json())
        }
    }

    @Test func theSelfCopyOpensOnlyForItsOwnKey() throws {
        let toSelf = try Self.channel(Self.deltaker, Self.deltaker)
        #expect(toSelf.ownKeyID == toSelf.peerKeyID)
        let text = PairChannel.ChatText(text: "Notat til meg selv", sentAt: "2026-11-24T09:30:00.000Z")
        let copy = try toSelf.sealChat(text, clientMsgId: "m-self")
        #expect(copy.recipientKeyId == DeviceKey.keyID(Self.deltaker.publicKey))
        let stored = Self.stored(copy, clientMsgId: "m-self", sender: Self.deltaker)
        // Read back later by the same device (a new channel: nothing is cached).
        #expect(try Self.channel(Self.deltaker, Self.deltaker).openChat(stored) == text)
        // The self key is the tx of crypto_kx_client_session_keys(own, own), both ways.
        let selfKey = try KeyExchange.clientSessionKeys(Self.deltaker, serverPublicKey: Self.deltaker.publicKey).tx
        let ad = PairChannel.chatAD(
            consultation: Self.consultation, clientMsgId: "m-self", senderKeyID: copy.recipientKeyId, recipientKeyID: copy.recipientKeyId)
        let plain = try XChaCha20Poly1305.open(
            try Base64URL.decode(copy.ciphertext), additionalData: ad, nonce: try Base64URL.decode(copy.nonce), key: selfKey)
        #expect(try JSONDecoder().decode(PairChannel.ChatText.self, from: Data(Padding.unpad(plain.copyBytes(), blockSize: 128))) == text)
        // No one else opens it, not even with the sender's public key at hand.
        for other in [Self.veileder, Self.tolk] {
            #expect(throws: (any Error).self) { try Self.channel(other, Self.deltaker).openChat(stored) }
            let theirs = try KeyExchange.clientSessionKeys(other, serverPublicKey: Self.deltaker.publicKey)
            for key in [theirs.rx, theirs.tx] {
                #expect(throws: (any Error).self) {
                    try XChaCha20Poly1305.open(
                        try Base64URL.decode(copy.ciphertext), additionalData: ad, nonce: try Base64URL.decode(copy.nonce), key: key)
                }
            }
        }
        // A copy the deltaker sealed for the veileder is not readable by the deltaker's self channel.
        let toVeileder = try Self.channel(Self.deltaker, Self.veileder).sealChat(text, clientMsgId: "m-1")
        #expect(throws: (any Error).self) { try toSelf.openChat(Self.stored(toVeileder, clientMsgId: "m-1", sender: Self.deltaker)) }
    }

    @Test func sealedCopiesPassTheServersShapeCheck() throws {
        let copies = try [Self.veileder, Self.tolk, Self.deltaker].map { peer in
            try Self.channel(Self.deltaker, peer).sealChat(.init(text: String(repeating: "æ", count: 3000), sentAt: "2026-11-24T09:30:00.000Z"), clientMsgId: "m-1")
        }
        let envelope = ChatEnvelope(clientMsgId: "m-1", senderKeyId: DeviceKey.keyID(Self.deltaker.publicKey), copies: copies)
        #expect(try envelope.validated() == envelope)
    }

    // MARK: The call code

    /// A seeded generator, so a shuffled delivery order is the same every run.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Devices running `CallCode`, addressed by key id. Every commit and reveal
    /// travels as a sealed signal through `PairChannel`, as between browsers.
    /// Who sees whom is up to the test: a relay that substitutes keys is
    /// played by giving the honest devices views that hold its keys.
    struct Call {
        struct Message {
            var from: String
            var to: String
            var sealed: SealedSignal
        }

        var devices: [String: KeyExchange.KeyPair] = [:]
        var rounds: [String: CallCode] = [:]
        var queue: [Message] = []
        var codes: [String: String] = [:]
        var mismatches: [String: [String]] = [:]
        /// Every payload delivered, in order, for a watching relay.
        var delivered: [(from: String, to: String, payload: SignalPayload)] = []
        /// Changes a payload on its way (a tampering relay).
        var tamper: @Sendable (_ from: String, _ to: String, SignalPayload) -> SignalPayload = { $2 }
        /// Holds a message back (it goes to `held`, to be delivered later or never).
        var hold: @Sendable (_ from: String, _ to: String, SignalPayload) -> Bool = { _, _, _ in false }
        var held: [Message] = []

        @discardableResult
        mutating func add(_ keys: KeyExchange.KeyPair) -> String {
            let id = DeviceKey.keyID(keys.publicKey)
            devices[id] = keys
            rounds[id] = CallCode(own: keys.publicKey)
            return id
        }

        /// `id`'s view of the call is now itself and `others`.
        @discardableResult
        mutating func view(_ id: String, sees others: [String], nonce: [UInt8]? = nil) throws -> [CallCode.Output] {
            let keys = others.map { devices[$0]!.publicKey }
            let outputs = nonce.map { rounds[id]!.viewChanged(keys, nonce: $0) } ?? rounds[id]!.viewChanged(keys)
            codes[id] = rounds[id]!.code  // nil once a new round began
            try carry(outputs, of: id)
            return outputs
        }

        mutating func carry(_ outputs: [CallCode.Output], of id: String) throws {
            for output in outputs {
                switch output {
                case .send(let to, let payload):
                    let channel = try PairChannel(consultation: EndToEndTests.consultation, own: devices[id]!, peer: devices[to]!.publicKey)
                    queue.append(Message(from: id, to: to, sealed: try channel.seal(payload)))
                case .code(let code):
                    codes[id] = code
                case .mismatch(let keyId):
                    mismatches[id, default: []].append(keyId)
                }
            }
        }

        /// `id` receives a payload from the holder of the key id `from`.
        mutating func receive(_ payload: SignalPayload, from: String, at id: String) throws {
            let outputs = rounds[id]!.received(payload, from: from)
            try carry(outputs, of: id)
        }

        /// Delivers every queued message, first in first out, or in an order
        /// shuffled by `seed`; what the deliveries cause is delivered too.
        mutating func deliverAll(shuffledWith seed: UInt64? = nil) throws {
            var generator = SplitMix64(state: seed ?? 0)
            var steps = 0
            while !queue.isEmpty {
                let message = queue.remove(at: seed == nil ? 0 : Int.random(in: 0..<queue.count, using: &generator))
                let channel = try PairChannel(consultation: EndToEndTests.consultation, own: devices[message.to]!, peer: devices[message.from]!.publicKey)
                let opened = try channel.open(message.sealed)
                if hold(message.from, message.to, opened) {
                    held.append(message)
                    continue
                }
                let payload = tamper(message.from, message.to, opened)
                delivered.append((message.from, message.to, payload))
                try receive(payload, from: message.sealed.senderKeyId, at: message.to)
                steps += 1
                precondition(steps < 100_000, "the call code does not settle")
            }
        }

        func revealedNonce(from: String, to: String) -> String? {
            for item in delivered where item.from == from && item.to == to {
                if case .reveal(_, let nonce) = item.payload { return nonce }
            }
            return nil
        }
    }

    static func honestCall(_ count: Int, seed: UInt64?) throws -> Call {
        var call = Call()
        let ids = (0..<count).map { _ in call.add(KeyExchange.KeyPair.generate()) }
        for id in ids { try call.view(id, sees: ids.filter { $0 != id }) }
        try call.deliverAll(shuffledWith: seed)
        return call
    }

    @Test(arguments: [3, 4, 6])
    func anHonestCallEndsWithTheSameCodeEverywhere(participants: Int) throws {
        for seed: UInt64? in [nil, 1, 2, 3] {
            let call = try Self.honestCall(participants, seed: seed)
            #expect(call.mismatches.isEmpty)
            #expect(call.codes.count == participants, "everyone shows a code (order \(String(describing: seed)))")
            #expect(Set(call.codes.values).count == 1, "and it is the same code (order \(String(describing: seed)))")
            let code = try #require(call.codes.values.first)
            #expect(code.wholeMatch(of: /\d{4} \d{4} \d{4}/) != nil)
            // Each sent one commit and one reveal to each other participant, no more.
            #expect(call.delivered.count == 2 * participants * (participants - 1))
        }
        // Fresh nonces every round: two calls of the same people differ.
        #expect(try Self.honestCall(participants, seed: nil).codes.values.first != Self.honestCall(participants, seed: nil).codes.values.first)
    }

    @Test func theCodeIsTheDocumentedHashOfTheKeysAndNonces() throws {
        var call = Call()
        let people = [Self.veileder, Self.deltaker, Self.tolk]
        let ids = people.map { call.add($0) }
        let nonces = (0..<3).map { [UInt8](repeating: UInt8(0x0a + $0), count: 32) }
        for (index, id) in ids.enumerated() {
            let outputs = try call.view(id, sees: ids.filter { $0 != id }, nonce: nonces[index])
            let commitment = CallCode.commitment(keys: ids.sorted().joined(separator: ","), publicKey: people[index].publicKey, nonce: nonces[index])
            #expect(outputs.count == 2)
            for output in outputs {
                guard case .send(_, .commit(let keys, let sent)) = output else {
                    Issue.record("expected only commits at first, got \(output)")
                    continue
                }
                #expect(keys == ids.sorted().joined(separator: ","))
                #expect(sent == commitment)
            }
        }
        try call.deliverAll()
        let listed = zip(people, nonces).map { (publicKey: $0.publicKey, nonce: $1) }
        let expected = CallCode.code(keys: ids.sorted().joined(separator: ","), participants: listed)
        #expect(call.codes == Dictionary(uniqueKeysWithValues: ids.map { ($0, expected) }))
        // The order the participants are listed in does not matter.
        #expect(CallCode.code(keys: ids.sorted().joined(separator: ","), participants: listed.reversed()) == expected)
    }

    /// The relay gives Alice its own key M1 as Bob's and Bob its key M2 as
    /// Alice's, and plays an honest `CallCode` toward each with its own keys.
    /// It even picks its nonce toward Bob after it has seen Alice's reveal.
    /// The two honest sides still end with different codes: Bob's nonce was
    /// not known when the relay had to commit toward Bob.
    @Test func aKeySubstitutingRelayCannotMakeTheCodesMatch() throws {
        for attempt in 0..<16 {
            var call = Call()
            let alice = call.add(.generate())
            let bob = call.add(.generate())
            let m1 = call.add(.generate())  // stands for Bob toward Alice
            let m2 = call.add(.generate())  // stands for Alice toward Bob
            try call.view(alice, sees: [m1])
            try call.view(bob, sees: [m2])
            try call.view(m1, sees: [alice])
            try call.deliverAll()
            // Bob has committed to M2; the relay has not answered him yet.
            #expect(call.codes[alice] != nil && call.codes[bob] == nil)
            let aliceNonce = try #require(call.revealedNonce(from: alice, to: m1))
            // Any choice made knowing Alice's nonce: here derived from it.
            let chosen = try GenericHash.hash(Array("\(attempt)|\(aliceNonce)".utf8), length: 32)
            try call.view(m2, sees: [bob], nonce: chosen)
            try call.deliverAll()
            #expect(call.mismatches.isEmpty, "the relay played by the rules toward each side")
            let aliceCode = try #require(call.codes[alice])
            let bobCode = try #require(call.codes[bob])
            #expect(aliceCode != bobCode)
            #expect(call.codes[m1] == aliceCode && call.codes[m2] == bobCode)
        }
    }

    /// The other way to steer the codes: the relay holds back its reveals
    /// until it has seen both honest nonces, then commits again toward each
    /// side to nonces that it found to give equal codes (a birthday search of
    /// about 2 × 10^6 hashes), and reveals those. Each side holds the first
    /// commitment, so both warn instead of showing a code.
    @Test func aRelayThatCommitsAgainAfterSeeingBothNoncesIsCaught() throws {
        var call = Call()
        let alice = call.add(.generate())
        let bob = call.add(.generate())
        let m1 = call.add(.generate())
        let m2 = call.add(.generate())
        call.hold = { from, _, payload in
            if from == m1 || from == m2, case .reveal = payload { return true }
            return false
        }
        try call.view(alice, sees: [m1])
        try call.view(bob, sees: [m2])
        try call.view(m1, sees: [alice])
        try call.view(m2, sees: [bob])
        try call.deliverAll()
        #expect(call.revealedNonce(from: alice, to: m1) != nil && call.revealedNonce(from: bob, to: m2) != nil)
        for (victim, relay) in [(alice, m1), (bob, m2)] {
            let keys = call.rounds[victim]!.keys
            let chosen = Random.bytes(32)  // whatever the search found
            let publicKey = call.devices[relay]!.publicKey
            try call.receive(.commit(keys: keys, commitment: CallCode.commitment(keys: keys, publicKey: publicKey, nonce: chosen)), from: relay, at: victim)
            try call.receive(.reveal(keys: keys, nonce: Base64URL.encode(chosen)), from: relay, at: victim)
            #expect(call.mismatches[victim] == [relay])
            #expect(call.codes[victim] == nil)
        }
    }

    /// A relay that substitutes only the keys between A and B of a three-way
    /// call cannot complete anyone's round: C's commitments are for the true
    /// key set, sealed so that the relay cannot change them. No one shows a code.
    @Test func aHalfSubstitutedCallShowsNoCodeAtAll() throws {
        var call = Call()
        let a = call.add(.generate())
        let b = call.add(.generate())
        let c = call.add(.generate())
        let m1 = call.add(.generate())  // B, toward A
        let m2 = call.add(.generate())  // A, toward B
        try call.view(a, sees: [m1, c])
        try call.view(b, sees: [m2, c])
        try call.view(c, sees: [a, b])
        try call.view(m1, sees: [a, c])
        try call.view(m2, sees: [b, c])
        try call.deliverAll(shuffledWith: 7)
        #expect(call.codes[a] == nil && call.codes[b] == nil && call.codes[c] == nil)
    }

    @Test func aRevealThatDoesNotMatchItsCommitmentYieldsAMismatchAndNoCode() throws {
        var call = Call()
        let ids = (0..<3).map { _ in call.add(.generate()) }
        let (liar, victim) = (ids[0], ids[1])
        call.tamper = { from, to, payload in
            guard from == liar, to == victim, case .reveal(let keys, _) = payload else { return payload }
            return .reveal(keys: keys, nonce: Base64URL.encode([UInt8](repeating: 0x42, count: 32)))
        }
        for id in ids { try call.view(id, sees: ids.filter { $0 != id }) }
        try call.deliverAll(shuffledWith: 11)
        #expect(call.mismatches[victim] == [liar])
        #expect(call.codes[victim] == nil)
        #expect(call.rounds[victim]!.failed && call.rounds[victim]!.code == nil)
        // Those who got the true reveal agree with each other.
        #expect(call.codes[liar] != nil && call.codes[liar] == call.codes[ids[2]])
        // A later reveal does not turn the warning into a code.
        let late = call.rounds[victim]!.keys
        try call.receive(.reveal(keys: late, nonce: Base64URL.encode([UInt8](repeating: 1, count: 32))), from: liar, at: victim)
        #expect(call.codes[victim] == nil)
        // A reveal that is not 32 bytes is no better.
        var other = Call()
        let pair = (0..<2).map { _ in other.add(.generate()) }
        other.tamper = { from, _, payload in
            guard from == pair[0], case .reveal(let keys, _) = payload else { return payload }
            return .reveal(keys: keys, nonce: "AAAA")
        }
        for id in pair { try other.view(id, sees: pair.filter { $0 != id }) }
        try other.deliverAll()
        #expect(other.mismatches[pair[1]] == [pair[0]] && other.codes[pair[1]] == nil)
    }

    /// Views change one after the other: those who see a newcomer first
    /// commit to a key set a slower participant has not reached yet. Their
    /// commitments are kept and used once it gets there.
    @Test func commitsForAKeySetNotReachedYetAreKeptUntilTheViewGetsThere() throws {
        var call = Call()
        let ids = (0..<3).map { _ in call.add(.generate()) }
        for id in ids { try call.view(id, sees: ids.filter { $0 != id }) }
        try call.deliverAll()
        let first = try #require(call.codes[ids[0]])
        #expect(Set(call.codes.values) == [first])
        // D joins; everyone but the slow ids[0] sees it at once.
        let newcomer = call.add(.generate())
        let all = ids + [newcomer]
        for id in all.dropFirst() { try call.view(id, sees: all.filter { $0 != id }) }
        try call.deliverAll(shuffledWith: 5)
        // ids[0] is still in the old round with its old code; the others wait for it.
        #expect(call.codes[ids[0]] == first)
        #expect(call.rounds[ids[0]]!.keys == ids.sorted().joined(separator: ","))
        for id in all.dropFirst() { #expect(call.codes[id] == nil) }
        // Now ids[0] sees D: it holds every commitment already, so it reveals at once.
        let outputs = try call.view(ids[0], sees: all.filter { $0 != ids[0] })
        let reveals = outputs.filter { if case .send(_, .reveal) = $0 { true } else { false } }
        #expect(reveals.count == 3)
        try call.deliverAll(shuffledWith: 6)
        #expect(call.codes.count == 4 && Set(call.codes.values).count == 1)
        #expect(call.codes[ids[0]] != first)
    }

    @Test func messagesForAnotherRoundOrFromOutsideTheKeySetAreIgnored() throws {
        let me = KeyExchange.KeyPair.generate()
        let peer = KeyExchange.KeyPair.generate()
        let stranger = KeyExchange.KeyPair.generate()
        let (meID, peerID, strangerID) = (DeviceKey.keyID(me.publicKey), DeviceKey.keyID(peer.publicKey), DeviceKey.keyID(stranger.publicKey))
        var round = CallCode(own: me.publicKey)
        _ = round.viewChanged([peer.publicKey])
        let keys = [meID, peerID].sorted().joined(separator: ",")
        #expect(round.keys == keys)
        // A commitment for a key set without its sender, or from someone outside the view, changes nothing.
        #expect(round.received(.commit(keys: keys, commitment: "x"), from: strangerID).isEmpty)
        #expect(round.received(.commit(keys: [meID, strangerID].sorted().joined(separator: ","), commitment: "x"), from: strangerID).isEmpty)
        // Other kinds are not the call code's.
        #expect(round.received(.media(video: true), from: peerID).isEmpty)
        #expect(round.received(.offer(sdp: "v=0"), from: peerID).isEmpty)
        // A reveal before the commitment: nothing yet, and no code.
        let nonce = [UInt8](repeating: 3, count: 32)
        #expect(round.received(.reveal(keys: keys, nonce: Base64URL.encode(nonce)), from: peerID).isEmpty)
        // The commitment arrives: reveal, then the code at once.
        let outputs = round.received(.commit(keys: keys, commitment: CallCode.commitment(keys: keys, publicKey: peer.publicKey, nonce: nonce)), from: peerID)
        #expect(outputs.count == 2)
        guard case .send(peerID, .reveal(keys, _))? = outputs.first, case .code(let code)? = outputs.last else {
            Issue.record("expected a reveal and a code, got \(outputs)")
            return
        }
        #expect(round.code == code)
        // Nothing more happens in a finished round.
        #expect(round.received(.reveal(keys: keys, nonce: Base64URL.encode(nonce)), from: peerID).isEmpty)
        // Alone in the call: no round, no code.
        var alone = CallCode(own: me.publicKey)
        #expect(alone.viewChanged([]).isEmpty && alone.code == nil)
    }

    // MARK: Rounds that end early or come back

    /// Commit-then-reveal holds only if a commitment cannot be replaced after
    /// this side revealed: otherwise the peer picks its nonce knowing ours,
    /// and a relay that does so toward both sides can search offline for
    /// nonces that make the two honest codes equal.
    @Test func aCommitmentCannotBeReplacedAfterOurReveal() throws {
        let me = KeyExchange.KeyPair.generate()
        let peer = KeyExchange.KeyPair.generate()
        let peerID = DeviceKey.keyID(peer.publicKey)
        var round = CallCode(own: me.publicKey)
        _ = round.viewChanged([peer.publicKey])
        let keys = round.keys
        let first = Random.bytes(32)
        let revealed = round.received(.commit(keys: keys, commitment: CallCode.commitment(keys: keys, publicKey: peer.publicKey, nonce: first)), from: peerID)
        guard case .send(_, .reveal(_, let mine))? = revealed.first else {
            Issue.record("expected our reveal, got \(revealed)")
            return
        }
        // The peer has seen our nonce and now commits to a nonce chosen with it.
        let chosen = try GenericHash.hash(Array(mine.utf8), length: 32)
        #expect(round.received(.commit(keys: keys, commitment: CallCode.commitment(keys: keys, publicKey: peer.publicKey, nonce: chosen)), from: peerID).isEmpty)
        #expect(round.received(.reveal(keys: keys, nonce: Base64URL.encode(chosen)), from: peerID) == [.mismatch(keyId: peerID)])
        #expect(round.code == nil && round.failed)
        // The same view again is the same round, not a fresh one to be steered.
        #expect(round.viewChanged([peer.publicKey]).isEmpty)
        #expect(round.keys == keys && round.failed)
    }

    /// q drops and comes back with the same key while one reveal of the first
    /// round was still on its way to me: everyone goes K → K' → K. q starts
    /// over, as a client that lost its connection does (a new `CallCode`).
    /// The second round of K starts clean: I reveal only after the others
    /// committed to it, and nothing from the first round is used.
    @Test func aKeySetThatComesBackStartsClean() throws {
        var call = Call()
        let ids = (0..<3).map { _ in call.add(.generate()) }
        let (me, p, q) = (ids[0], ids[1], ids[2])
        call.hold = { from, to, payload in
            if from == q, to == me, case .reveal = payload { return true }
            return false
        }
        for id in ids { try call.view(id, sees: ids.filter { $0 != id }) }
        try call.deliverAll()
        #expect(call.codes[me] == nil && call.codes[p] != nil && call.codes[p] == call.codes[q])
        call.hold = { _, _, _ in false }
        // q is gone for a moment: me and p agree on a code for the two of them.
        for id in [me, p] { try call.view(id, sees: [me, p].filter { $0 != id }) }
        try call.deliverAll()
        #expect(call.codes[me] != nil && call.codes[me] == call.codes[p])
        // q is back with the same key, and starts over.
        call.rounds[q] = CallCode(own: call.devices[q]!.publicKey)
        let outputs = try call.view(me, sees: [p, q])
        #expect(!outputs.contains { if case .send(_, .reveal) = $0 { true } else { false } }, "no reveal before the others committed to this round")
        for id in [p, q] { try call.view(id, sees: ids.filter { $0 != id }) }
        try call.deliverAll()
        #expect(call.mismatches.isEmpty)
        #expect(call.codes.count == 3 && Set(call.codes.values).count == 1)
    }

    /// A reveal of a round I have already left arrives late (the relay sent
    /// the roster change first). When that key set comes back it must not
    /// stand in for the fresh reveal: that would be a false alarm.
    @Test func aLateRevealOfAnAbandonedRoundIsNotUsedWhenTheKeySetComesBack() throws {
        var call = Call()
        let ids = (0..<3).map { _ in call.add(.generate()) }
        let (me, p, q) = (ids[0], ids[1], ids[2])
        call.hold = { from, to, payload in
            if from == p, to == me, case .reveal = payload { return true }
            return false
        }
        for id in ids { try call.view(id, sees: ids.filter { $0 != id }) }
        try call.deliverAll()
        call.hold = { _, _, _ in false }
        // q drops; p's reveal of the first round reaches me only now.
        for id in [me, p] { try call.view(id, sees: [me, p].filter { $0 != id }) }
        call.queue.insert(contentsOf: call.held, at: 0)
        call.held = []
        try call.deliverAll()
        #expect(call.codes[me] != nil && call.codes[me] == call.codes[p])
        // q is back with the same key, and starts over.
        call.rounds[q] = CallCode(own: call.devices[q]!.publicKey)
        for id in ids { try call.view(id, sees: ids.filter { $0 != id }) }
        try call.deliverAll()
        #expect(call.mismatches.isEmpty)
        #expect(call.codes.count == 3 && Set(call.codes.values).count == 1)
    }

    /// Commitments for many made-up key sets do not fill the table for good:
    /// when it is full the rounds not reached are dropped, and a real early
    /// commitment that comes after is kept. (What a participant in the call
    /// sends to stall the code it can always stall by not revealing.)
    @Test func aFloodOfMadeUpRoundsCannotCrowdOutTheNextRealOne() throws {
        let (a, b, c) = (KeyExchange.KeyPair.generate(), KeyExchange.KeyPair.generate(), KeyExchange.KeyPair.generate())
        let (aID, bID) = (DeviceKey.keyID(a.publicKey), DeviceKey.keyID(b.publicKey))
        var codeA = CallCode(own: a.publicKey)
        _ = codeA.viewChanged([b.publicKey])
        for n in 0..<(3 * CallCode.maxPendingRounds) {
            let fake = Base64URL.encode([UInt8](repeating: UInt8(n), count: 16))
            _ = codeA.received(.commit(keys: [aID, bID, fake].sorted().joined(separator: ","), commitment: "x"), from: bID)
        }
        // b gets to {a, b, c} first and commits.
        var codeB = CallCode(own: b.publicKey)
        for case .send(let to, let payload) in codeB.viewChanged([a.publicKey, c.publicKey]) where to == aID {
            _ = codeA.received(payload, from: bID)
        }
        // a gets there: with c's commitment too, a reveals, so b's early one was kept.
        _ = codeA.viewChanged([b.publicKey, c.publicKey])
        var codeC = CallCode(own: c.publicKey)
        var revealed = false
        for case .send(let to, let payload) in codeC.viewChanged([a.publicKey, b.publicKey]) where to == aID {
            revealed = codeA.received(payload, from: DeviceKey.keyID(c.publicKey)).contains {
                if case .send(_, .reveal) = $0 { true } else { false }
            }
        }
        #expect(revealed)
    }
}
