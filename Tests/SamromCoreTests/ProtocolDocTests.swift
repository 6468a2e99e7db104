import Foundation
import SamromCore
import Sodium
import Testing

/// docs/protocol.md cannot drift: every client example decodes with the real
/// decoder, every server example has exactly the shape the real encoder
/// writes, every message type and error code is documented, every sealed
/// example opens, and the test vectors are what the Swift reference client
/// (`PairChannel`, `CallCode`) computes, byte for byte.
@Suite struct ProtocolDocTests {
    static let document: String = {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try! String(contentsOf: root.appendingPathComponent("docs/protocol.md"), encoding: .utf8)
    }()

    /// The ```json blocks under one `## ` section.
    static func examples(in section: String) -> [String] {
        let parts = document.components(separatedBy: "\n## ")
        guard let body = parts.first(where: { $0.hasPrefix(section + "\n") }) else { return [] }
        var blocks: [String] = []
        var current: [Substring]?
        for line in body.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line == "```json" {
                current = []
            } else if current != nil, line == "```" {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            } else {
                current?.append(line)
            }
        }
        return blocks
    }

    static func json(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    static func type(of value: JSONValue) -> String? {
        value["type"]?.string
    }

    // MARK: Client to server

    @Test func everyClientExampleDecodes() throws {
        let examples = Self.examples(in: "Client to server")
        #expect(examples.count >= 12)
        var documented: Set<String> = []
        for example in examples {
            do {
                _ = try ClientMessage.decode(example)
            } catch {
                Issue.record("docs/protocol.md example does not decode (\(error)): \(example)")
            }
            documented.insert(try #require(Self.type(of: try Self.json(example))))
        }
        #expect(documented == ClientMessage.knownTypes)
    }

    // MARK: Server to client

    /// Server messages as the server writes them, at least one of each case.
    static let samples: [ServerMessage] = {
        let veileder = Member(participant: ParticipantID(rawValue: "p-EDMR4Ir_A83D"), role: .veileder)
        let deltaker = Member(participant: ParticipantID(rawValue: "p-ywOc7hDsQ5Fg"), role: .deltaker)
        let tolk = Member(participant: ParticipantID(rawValue: "p-Q2x9rT0wLk4M"), role: .tolk)
        let keyID = "CMJeJrqz_SgUHVWZmhVDuA"
        let info = ServerMessage.ConsultationInfo(id: ConsultationID(rawValue: "7f14QGE6RccA1oCVrjP05g"), expiresAt: Date(), title: nil)
        var titled = info
        titled.title = "Oppfølging uke 1"
        var booked = info
        booked.booking = Booking(startsAt: Date(), minutes: 45)
        let stored = StoredChat(
            from: deltaker.participant, senderRole: .deltaker, clientMsgId: "m", senderKeyId: keyID,
            copy: ChatCopy(recipientKeyId: keyID, nonce: "n", ciphertext: "c"), seq: 1, storedAt: Date())
        let turn = IceServer(urls: ["turns:turn.example.no:443?transport=tcp"], username: "1:p", credential: "c")
        return [
            .welcome(.init(you: deltaker, consultation: info, resume: .random())),
            .welcome(.init(you: deltaker, consultation: booked, resume: .random())),
            .welcome(.init(you: veileder, consultation: titled, resume: .random())),
            .lobby, .hold(text: "Jeg kommer om fem minutter."), .knock(tolk), .knock(deltaker, identified: .init(level: .high, expiresAt: Date())),
            .lobbyLeft(participant: tolk.participant),
            .admitted(.init(iceServers: [turn], iceTransportPolicy: .relay)),
            .admitted(.init(iceServers: [], iceTransportPolicy: .all)),
            .denied,
            .roster([.init(member: veileder, keyId: keyID), .init(member: deltaker, keyId: keyID), .init(member: tolk, keyId: nil)]),
            .key(.init(from: deltaker, publicKey: "k", keyId: keyID, changed: false)),
            .signal(from: deltaker.participant, SealedSignal(senderKeyId: keyID, recipientKeyId: keyID, nonce: "n", box: "b")),
            .chat(stored), .chatAck(clientMsgId: "m", seq: 1),
            .history(messages: [stored], more: false), .history(messages: [], more: false),
            .ended, .pong, .error(SignalError(.notAdmitted, "wait")),
            .error(SignalError(.tooEarly, "wait", lobbyOpens: .init(startsAt: Date(), opensAt: Date()))),
            .moved(.init(instance: "samrom-b", route: RouteKey(rawValue: "q3Vt7mXg0aYcJ2kP9sLw1A"), retryAfterMs: 0)),
        ]
    }()

    /// Fails to compile when `ServerMessage` gains a case: give it a sample above.
    static func caseNumber(_ message: ServerMessage) -> Int {
        switch message {
        case .welcome: 0
        case .lobby: 1
        case .knock: 2
        case .lobbyLeft: 3
        case .admitted: 4
        case .denied: 5
        case .roster: 6
        case .key: 7
        case .signal: 8
        case .chat: 9
        case .chatAck: 10
        case .history: 11
        case .ended: 12
        case .pong: 13
        case .error: 14
        case .hold: 15
        case .moved: 16
        }
    }

    /// Keys and value kinds, recursively; an array by the distinct shapes of its elements.
    static func shape(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "bool"
        case .int: "int"
        case .double: "double"
        case .string: "string"
        case .array(let items): "[" + Set(items.map(shape)).sorted().joined(separator: "|") + "]"
        case .object(let object):
            "{" + object.keys.sorted().map { "\($0):\(shape(object[$0]!))" }.joined(separator: ",") + "}"
        }
    }

    @Test func everyServerExampleHasTheEncodersShape() throws {
        #expect(Set(Self.samples.map(Self.caseNumber)) == Set(0...16), "a sample of every case")
        var shapes: [String: Set<String>] = [:]
        for sample in Self.samples {
            shapes[sample.type, default: []].insert(Self.shape(try Self.json(sample.encoded())))
        }
        var documented: Set<String> = []
        for example in Self.examples(in: "Server to client") {
            let value = try Self.json(example)
            let type = try #require(Self.type(of: value), "no type in \(example)")
            documented.insert(type)
            let expected = try #require(shapes[type], "docs/protocol.md documents an unknown server message: \(type)")
            #expect(expected.contains(Self.shape(value)), "docs/protocol.md example of \(type) differs from what the server sends: \(example)")
        }
        #expect(documented == Set(shapes.keys))
    }

    @Test func everyErrorCodeIsDocumented() throws {
        let documented = Set(
            Self.document.split(separator: "\n")
                .filter { $0.hasPrefix("| `") }
                .compactMap { line -> String? in
                    let cell = line.dropFirst(3)
                    return cell.firstIndex(of: "`").map { String(cell[..<$0]) }
                })
        for code in SignalError.Code.allCases {
            #expect(documented.contains(code.rawValue), "error code \(code.rawValue) is not in docs/protocol.md")
        }
        let example = try #require(Self.examples(in: "Server to client").first { $0.contains(#""type":"error""#) })
        let code = try #require(try Self.json(example)["code"]?.string)
        #expect(SignalError.Code(rawValue: code) != nil)
    }

    @Test func everyHTTPExampleIsJSON() throws {
        let examples = Self.examples(in: "HTTP API")
        #expect(examples.count >= 6)
        for example in examples {
            guard case .object = try Self.json(example) else {
                Issue.record("not a JSON object: \(example)")
                continue
            }
        }
    }

    // MARK: Sealed examples

    /// Every `signal` and chat copy in the examples is real: it opens with
    /// the test vectors' keys.
    @Test func everySealedExampleOpens() throws {
        let consultation = Vectors.consultation
        let keys = Dictionary(uniqueKeysWithValues: Vectors.people.map { (DeviceKey.keyID($0.keys.publicKey), $0.keys) })
        func channel(sender: String, recipient: String) throws -> PairChannel {
            let own = try #require(keys[recipient], "an example is sealed for an unknown key \(recipient)")
            let peer = try #require(keys[sender], "an example is sealed by an unknown key \(sender)")
            return try PairChannel(consultation: consultation, own: own, peer: peer.publicKey)
        }
        func openChat(_ object: JSONValue, clientMsgId: String, senderKeyId: String) throws {
            let copy = ChatCopy(
                recipientKeyId: try #require(object["recipientKeyId"]?.string), nonce: try #require(object["nonce"]?.string),
                ciphertext: try #require(object["ciphertext"]?.string))
            let stored = StoredChat(
                from: ParticipantID(rawValue: "p"), senderRole: .deltaker, clientMsgId: clientMsgId, senderKeyId: senderKeyId, copy: copy, seq: 1,
                storedAt: Date())
            _ = try channel(sender: senderKeyId, recipient: copy.recipientKeyId).openChat(stored)
        }
        var opened = 0
        for example in Self.examples(in: "Client to server") + Self.examples(in: "Server to client") {
            let value = try Self.json(example)
            switch Self.type(of: value) ?? "" {
            case "signal":
                let signal = SealedSignal(
                    senderKeyId: try #require(value["senderKeyId"]?.string), recipientKeyId: try #require(value["recipientKeyId"]?.string),
                    nonce: try #require(value["nonce"]?.string), box: try #require(value["box"]?.string))
                _ = try channel(sender: signal.senderKeyId, recipient: signal.recipientKeyId).open(signal)
                opened += 1
            case "chat" where value["copies"] != nil:
                let sender = try #require(value["senderKeyId"]?.string)
                for copy in value["copies"]?.array ?? [] {
                    try openChat(copy, clientMsgId: try #require(value["clientMsgId"]?.string), senderKeyId: sender)
                    opened += 1
                }
            case "chat":
                try openChat(value, clientMsgId: try #require(value["clientMsgId"]?.string), senderKeyId: try #require(value["senderKeyId"]?.string))
                opened += 1
            case "history":
                for message in value["messages"]?.array ?? [] {
                    try openChat(
                        message, clientMsgId: try #require(message["clientMsgId"]?.string), senderKeyId: try #require(message["senderKeyId"]?.string))
                    opened += 1
                }
            default:
                continue
            }
        }
        #expect(opened >= 6)
    }

    // MARK: Test vectors

    /// The vectors documented under "## Test vectors", by their `vector` name.
    static func documentedVectors() throws -> [String: JSONValue] {
        var vectors: [String: JSONValue] = [:]
        for block in examples(in: "Test vectors") {
            let value = try json(block)
            let name = try #require(value["vector"]?.string, "a test vector without a name: \(block)")
            #expect(vectors[name] == nil, "two vectors named \(name)")
            vectors[name] = value
        }
        return vectors
    }

    @Test(arguments: Vectors.names)
    func theTestVectorIsWhatTheReferenceClientComputes(name: String) throws {
        let computed = try Vectors.compute(name)
        let documented = try Self.documentedVectors()[name]
        // On a difference the computed vector is printed, ready to paste.
        #expect(documented == computed, "docs/protocol.md vector \(name) differs from the reference; it computes:\n\(Vectors.text(computed))")
    }

    /// The documented call code comes out of three honest `CallCode` runs
    /// with the documented nonces, and their commits are the documented ones.
    @Test func theCallCodeVectorComesOutOfThreeHonestRuns() throws {
        let vector = try #require(try Self.documentedVectors()["call-code"])
        let people = Vectors.people
        let nonces = Vectors.callNonces
        var rounds = people.map { CallCode(own: $0.keys.publicKey) }
        var inbox: [(to: Int, from: String, payload: SignalPayload)] = []
        var codes: [String?] = Array(repeating: nil, count: people.count)
        let index = Dictionary(uniqueKeysWithValues: people.enumerated().map { (DeviceKey.keyID($1.keys.publicKey), $0) })
        func carry(_ outputs: [CallCode.Output], of sender: Int) {
            for output in outputs {
                switch output {
                case .send(let to, let payload): inbox.append((index[to]!, rounds[sender].ownKeyID, payload))
                case .code(let code): codes[sender] = code
                case .mismatch: Issue.record("an honest run must not mismatch")
                }
            }
        }
        for (i, person) in people.enumerated() {
            let outputs = rounds[i].viewChanged(people.filter { $0.name != person.name }.map(\.keys.publicKey), nonce: nonces[i])
            for case .send(_, .commit(let keys, let commitment)) in outputs {
                #expect(keys == vector["keys"]?.string)
                #expect(commitment == vector["participants"]?.array?[i]["commitment"]?.string)
            }
            carry(outputs, of: i)
        }
        while !inbox.isEmpty {
            let message = inbox.removeFirst()
            let outputs = rounds[message.to].received(message.payload, from: message.from)
            carry(outputs, of: message.to)
        }
        let documented = try #require(vector["code"]?.string)
        #expect(codes == Array(repeating: documented, count: people.count))
    }
}

/// The known-answer vectors of docs/protocol.md, computed with the Swift
/// reference client: key pairs from fixed seeds, pair and self keys, a sealed
/// signal, a chat message's copies (one to the sender itself), and a
/// three-participant call code with fixed nonces.
enum Vectors {
    static let consultation = ConsultationID(rawValue: "7f14QGE6RccA1oCVrjP05g")

    struct Person: Sendable {
        let name: String
        let seed: [UInt8]
        let keys: KeyExchange.KeyPair
        var keyID: String { DeviceKey.keyID(keys.publicKey) }
    }

    /// veileder = 32 × 0x01, deltaker = 32 × 0x02, tolk = 32 × 0x03.
    static let people: [Person] = [("veileder", UInt8(1)), ("deltaker", 2), ("tolk", 3)].map { (name: String, byte: UInt8) in
        let seed = [UInt8](repeating: byte, count: 32)
        return Person(name: name, seed: seed, keys: try! KeyExchange.KeyPair.fromSeed(SecureBytes(seed)))
    }

    static func person(_ name: String) -> Person { people.first { $0.name == name }! }

    static let names = ["key-pairs", "pair-keys", "signal", "chat", "call-code"]

    /// Nonces: bytes 0, 1, 2, … in order, 24 at a time.
    static func nonce(_ index: Int) -> [UInt8] { (0..<24).map { UInt8(index * 24 + $0) } }

    static let signalPlaintext = SignalPayload.offer(sdp: "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n")
    static let chatText = PairChannel.ChatText(text: "Hei! Jeg blir litt sein i dag – bussen står.", sentAt: "2026-11-24T09:30:00.000Z")
    static let clientMsgId = "m-0001"
    /// The call code's nonces: 32 × 0x0a for the veileder, 0x0b the deltaker, 0x0c the tolk.
    static let callNonces: [[UInt8]] = [0x0a, 0x0b, 0x0c].map { [UInt8](repeating: $0, count: 32) }

    static func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// (rx, tx) of `own` toward `peer` by the lower-key rule, written out
    /// here again rather than taken from `PairChannel`.
    static func sessionKeys(_ own: Person, _ peer: Person) throws -> (rx: [UInt8], tx: [UInt8]) {
        if own.keys.publicKey == peer.keys.publicKey {
            let tx = try KeyExchange.clientSessionKeys(own.keys, serverPublicKey: own.keys.publicKey).tx.copyBytes()
            return (tx, tx)
        }
        let keys =
            own.keys.publicKey.bytes.lexicographicallyPrecedes(peer.keys.publicKey.bytes)
            ? try KeyExchange.clientSessionKeys(own.keys, serverPublicKey: peer.keys.publicKey)
            : try KeyExchange.serverSessionKeys(own.keys, clientPublicKey: peer.keys.publicKey)
        return (keys.rx.copyBytes(), keys.tx.copyBytes())
    }

    static func compute(_ name: String) throws -> JSONValue {
        switch name {
        case "key-pairs": return keyPairs()
        case "pair-keys": return try pairKeys()
        case "signal": return try signal()
        case "chat": return try chat()
        case "call-code": return callCode()
        default: throw SodiumError(.failed, "no vector \(name)")
        }
    }

    static func keyPairs() -> JSONValue {
        .object([
            "vector": .string("key-pairs"),
            "keyPairs": .array(
                people.map { person in
                    .object([
                        "name": .string(person.name), "seed": .string(hex(person.seed)),
                        "secretKey": .string(hex(person.keys.secretKey.copyBytes())),
                        "publicKey": .string(Base64URL.encode(person.keys.publicKey.bytes)), "keyId": .string(person.keyID),
                    ])
                }),
        ])
    }

    static func pairKeys() throws -> JSONValue {
        var pairs: [JSONValue] = []
        for (i, a) in people.enumerated() {
            for b in people[(i + 1)...] {
                let (client, server) = a.keys.publicKey.bytes.lexicographicallyPrecedes(b.keys.publicKey.bytes) ? (a, b) : (b, a)
                let keys = try sessionKeys(client, server)
                let back = try sessionKeys(server, client)
                guard back.rx == keys.tx, back.tx == keys.rx else { throw SodiumError(.failed, "the pair keys do not match") }
                pairs.append(.object(["client": .string(client.name), "server": .string(server.name), "clientRx": .string(hex(keys.rx)), "clientTx": .string(hex(keys.tx))]))
            }
        }
        let selfKeys = try people.map { person in
            JSONValue.object(["name": .string(person.name), "key": .string(hex(try sessionKeys(person, person).tx))])
        }
        return .object(["vector": .string("pair-keys"), "pairs": .array(pairs), "selfKeys": .array(selfKeys)])
    }

    static func signal() throws -> JSONValue {
        let (from, to) = (person("deltaker"), person("veileder"))
        let plaintext = try signalPlaintext.json()
        let sealed = try PairChannel(consultation: consultation, own: from.keys, peer: to.keys.publicKey).sealSignal(json: plaintext, nonce: nonce(0))
        // The recipient's reference channel opens it to the same payload.
        guard try PairChannel(consultation: consultation, own: to.keys, peer: from.keys.publicKey).open(sealed) == signalPlaintext else {
            throw SodiumError(.failed, "the signal vector does not open")
        }
        return .object([
            "vector": .string("signal"), "consultation": .string(consultation.rawValue), "from": .string(from.name), "to": .string(to.name),
            "plaintext": .string(String(decoding: plaintext, as: UTF8.self)),
            "paddedLength": .int(Int64(try Padding.pad(plaintext, blockSize: SealedSignal.paddingBlock).count)),
            "key": .string(hex(try sessionKeys(from, to).tx)),
            "ad": .string(String(decoding: PairChannel.signalAD(consultation: consultation, senderKeyID: from.keyID, recipientKeyID: to.keyID), as: UTF8.self)),
            "senderKeyId": .string(sealed.senderKeyId), "recipientKeyId": .string(sealed.recipientKeyId),
            "nonce": .string(sealed.nonce), "box": .string(sealed.box),
        ])
    }

    static func chat() throws -> JSONValue {
        let from = person("deltaker")
        let plaintext = try chatJSON()
        var copies: [JSONValue] = []
        for (index, to) in [person("veileder"), person("tolk"), from].enumerated() {
            let copy = try PairChannel(consultation: consultation, own: from.keys, peer: to.keys.publicKey)
                .sealChat(chatText, clientMsgId: clientMsgId, nonce: nonce(1 + index))
            let stored = StoredChat(
                from: ParticipantID(rawValue: "p"), senderRole: .deltaker, clientMsgId: clientMsgId, senderKeyId: from.keyID, copy: copy, seq: 1,
                storedAt: Date())
            guard try PairChannel(consultation: consultation, own: to.keys, peer: from.keys.publicKey).openChat(stored) == chatText else {
                throw SodiumError(.failed, "the chat vector does not open")
            }
            copies.append(.object([
                "to": .string(to.name), "key": .string(hex(try sessionKeys(from, to).tx)),
                "ad": .string(String(decoding: PairChannel.chatAD(consultation: consultation, clientMsgId: clientMsgId, senderKeyID: from.keyID, recipientKeyID: to.keyID), as: UTF8.self)),
                "recipientKeyId": .string(copy.recipientKeyId), "nonce": .string(copy.nonce), "ciphertext": .string(copy.ciphertext),
            ]))
        }
        return .object([
            "vector": .string("chat"), "consultation": .string(consultation.rawValue), "from": .string(from.name), "clientMsgId": .string(clientMsgId),
            "senderKeyId": .string(from.keyID), "plaintext": .string(String(decoding: plaintext, as: UTF8.self)),
            "paddedLength": .int(Int64(try Padding.pad(plaintext, blockSize: ChatCopy.paddingBlock).count)),
            "copies": .array(copies),
        ])
    }

    /// The chat text as `PairChannel` seals it: JSON, sorted keys, no spaces.
    static func chatJSON() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(chatText))
    }

    static func callCode() -> JSONValue {
        let keys = people.map(\.keyID).sorted().joined(separator: ",")
        var participants: [JSONValue] = []
        for (person, nonce) in zip(people, callNonces) {
            let input = "samrom/commit/v2|\(keys)|\(Base64URL.encode(person.keys.publicKey.bytes))|\(Base64URL.encode(nonce))"
            participants.append(.object([
                "name": .string(person.name), "publicKey": .string(Base64URL.encode(person.keys.publicKey.bytes)), "keyId": .string(person.keyID),
                "nonce": .string(Base64URL.encode(nonce)), "commitmentInput": .string(input),
                "commitment": .string(CallCode.commitment(keys: keys, publicKey: person.keys.publicKey, nonce: nonce)),
            ]))
        }
        let joined = zip(people, callNonces)
            .sorted { $0.0.keys.publicKey.bytes.lexicographicallyPrecedes($1.0.keys.publicKey.bytes) }
            .map { "\(Base64URL.encode($0.0.keys.publicKey.bytes)):\(Base64URL.encode($0.1))" }
            .joined(separator: ";")
        let input = "samrom/call-code/v2|\(keys)|\(joined)"
        let hash = try! GenericHash.hash(Array(input.utf8), length: 32)
        return .object([
            "vector": .string("call-code"), "keys": .string(keys), "participants": .array(participants), "codeInput": .string(input),
            "hash": .string(hex(hash)),
            "code": .string(CallCode.code(keys: keys, participants: zip(people, callNonces).map { (publicKey: $0.keys.publicKey, nonce: $1) })),
        ])
    }

    /// A vector as it is written in the document: `vector` first, then the
    /// keys in order, two spaces of indent per level.
    static func text(_ value: JSONValue, indent: String = "") -> String {
        let inner = indent + "  "
        switch value {
        case .object(let object):
            let keys = object.keys.sorted { ($0 == "vector" ? "" : $0) < ($1 == "vector" ? "" : $1) }
            return "{\n" + keys.map { "\(inner)\(quoted($0)): \(text(object[$0]!, indent: inner))" }.joined(separator: ",\n") + "\n\(indent)}"
        case .array(let items):
            return "[\n" + items.map { inner + text($0, indent: inner) }.joined(separator: ",\n") + "\n\(indent)]"
        case .string(let string): return quoted(string)
        case .int(let number): return String(number)
        case .bool(let flag): return String(flag)
        case .double(let number): return String(number)
        case .null: return "null"
        }
    }

    static func quoted(_ string: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return String(decoding: try! encoder.encode(string), as: UTF8.self)
    }
}

extension JSONValue {
    subscript(key: String) -> JSONValue? {
        guard case .object(let object) = self else { return nil }
        return object[key]
    }

    subscript(index: Int) -> JSONValue {
        guard case .array(let items) = self, items.indices.contains(index) else { return .null }
        return items[index]
    }

    var string: String? {
        guard case .string(let string) = self else { return nil }
        return string
    }

    var array: [JSONValue]? {
        guard case .array(let items) = self else { return nil }
        return items
    }
}
