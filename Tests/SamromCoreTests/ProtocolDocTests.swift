import Foundation
import SamromCore
import Testing

/// docs/protocol.md cannot drift: every client example decodes with the real
/// decoder, every server example has exactly the shape the real encoder
/// writes, and every message type and error code is documented.
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
        guard case .object(let object) = value, case .string(let type)? = object["type"] else { return nil }
        return type
    }

    @Test func everyClientExampleDecodes() throws {
        let examples = Self.examples(in: "Client to server")
        #expect(examples.count >= 11)
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

    /// One of each server message, as the server writes it.
    static let samples: [ServerMessage] = {
        let me = ParticipantID(rawValue: "p-ywOc7hDsQ5Fg")
        let veileder = ServerMessage.Peer(participant: ParticipantID(rawValue: "p-EDMR4Ir_A83D"), role: .veileder)
        let stored = StoredChat(
            envelope: ChatEnvelope(clientMsgId: "m", senderKeyId: "s", recipientKeyId: "r", nonce: "n", ciphertext: "c"),
            seq: 1, senderRole: .deltaker, storedAt: Date())
        let candidate = IceCandidate(candidate: "candidate:1 1 udp 1 192.0.2.10 3478 typ host", sdpMid: "0", sdpMLineIndex: 0, usernameFragment: "Ab3d")
        return [
            .welcome(.init(
                you: .init(participant: me, role: .deltaker),
                consultation: .init(id: ConsultationID(rawValue: "7f14QGE6RccA1oCVrjP05g"), expiresAt: Date(), title: nil),
                iceServers: [IceServer(urls: ["turns:turn.example.no:443?transport=tcp"], username: "1:p", credential: "c")],
                peers: [veileder], resume: ResumeToken.random())),
            .lobby, .knock(participant: me), .lobbyLeft(participant: me), .admitted, .denied,
            .peerJoined(veileder), .peerLeft(veileder),
            .offer(from: me, sdp: "v=0\r\n"), .answer(from: me, sdp: "v=0\r\n"), .ice(from: me, candidate: candidate),
            .media(from: me, video: false), .ended, .pong, .error(SignalError(.notAdmitted, "wait")),
            .key(from: me, role: .deltaker, publicKey: "k", keyId: "i", changed: false),
            .chat(from: me, stored), .chatAck(clientMsgId: "m", seq: 1), .history(messages: [stored], more: false),
        ]
    }()

    /// Keys and value kinds, recursively; arrays by their first element.
    static func shape(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "bool"
        case .int: "int"
        case .double: "double"
        case .string: "string"
        case .array(let items): "[" + (items.first.map(shape) ?? "") + "]"
        case .object(let object):
            "{" + object.keys.sorted().map { "\($0):\(shape(object[$0]!))" }.joined(separator: ",") + "}"
        }
    }

    @Test func everyServerExampleHasTheEncodersShape() throws {
        let examples = Self.examples(in: "Server to client")
        var byType: [String: String] = [:]
        for sample in Self.samples {
            byType[sample.type] = Self.shape(try Self.json(sample.encoded()))
        }
        var documented: Set<String> = []
        for example in examples {
            let value = try Self.json(example)
            let type = try #require(Self.type(of: value), "no type in \(example)")
            documented.insert(type)
            let expected = try #require(byType[type], "docs/protocol.md documents an unknown server message: \(type)")
            #expect(Self.shape(value) == expected, "docs/protocol.md example of \(type) differs from what the server sends")
        }
        #expect(documented == Set(byType.keys))
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
        guard case .object(let object) = try Self.json(example), case .string(let code)? = object["code"] else {
            Issue.record("the error example has no code")
            return
        }
        #expect(SignalError.Code(rawValue: code) != nil)
    }

    @Test func everyHTTPExampleIsJSON() throws {
        let examples = Self.examples(in: "HTTP API")
        #expect(examples.count >= 5)
        for example in examples {
            guard case .object = try Self.json(example) else {
                Issue.record("not a JSON object: \(example)")
                continue
            }
        }
    }
}
