import Foundation
import SamromCore
import Sodium
import Testing

@testable import SamromBench

/// Keeps the benchmark suite honest between benchmark runs: the tiny profile
/// runs every scenario for real (samrom and the ceiling relay as processes,
/// SaltyRTC too when its venv is there) and its JSON has the documented shape.
@Suite(.serialized) struct BenchSuiteTests {
    static func built(_ name: String) -> String? {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate.path }
            directory.deleteLastPathComponent()
        }
        return nil
    }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var saltyrtc: String? {
        let path = repository.appendingPathComponent(".build/saltyrtc-venv/bin/saltyrtc-server").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    @Test func theTinyProfileRunsEveryScenarioAndWritesTheDocumentedJSON() async throws {
        let samrom = try #require(Self.built("samrom"), "samrom was not built")
        let bench = try #require(Self.built("samrom-bench"), "samrom-bench was not built")
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("samrom-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let runner = BenchRunner(
            profile: .tiny, samromBinary: samrom, benchBinary: bench, saltyrtcServer: Self.saltyrtc, work: work, progress: { _ in })
        let report = try await runner.run()
        let object = try #require(try JSONSerialization.jsonObject(with: try report.json()) as? [String: Any])

        let relay = try #require(object["relay"] as? [String: [String: Any]])
        for server in ["samrom", "ceiling"] + (Self.saltyrtc == nil ? [] : ["saltyrtc"]) {
            let result = try #require(relay[server], "no relay result for \(server)")
            #expect((result["msgsPerSec"] as? Double ?? 0) > 0, "\(server)")
            #expect((result["p50Ms"] as? Double ?? 0) > 0 && (result["p99Ms"] as? Double ?? 0) >= (result["p50Ms"] as? Double ?? 0))
        }
        let connections = try #require(object["connections"] as? [String: [String: Any]])
        #expect(connections["samrom"]?["count"] as? Int == BenchProfile.tiny.connections)
        #expect(connections["samrom"]?["rssBytesPerConnection"] is Int)
        if Self.saltyrtc != nil { #expect(connections["saltyrtc"]?["count"] as? Int == BenchProfile.tiny.connections) }
        let storm = try #require((object["joinStorm"] as? [String: [String: Any]])?["samrom"])
        #expect(storm["count"] as? Int == BenchProfile.tiny.joinStorm)
        #expect(storm["errors"] as? Int == 0)
        #expect((storm["seconds"] as? Double ?? 0) > 0)
        let chat = try #require(object["chat"] as? [String: Any])
        #expect((chat["ackedPerSec"] as? Double ?? 0) > 0 && (chat["ackP99Ms"] as? Double ?? 0) > 0)
        let audit = try #require(object["audit"] as? [String: Any])
        #expect((audit["appendPerSec"] as? Double ?? 0) > 0 && (audit["verifyPerSec"] as? Double ?? 0) > 0)
        // Two instances on PostgreSQL behind HAProxy: `make test` installs both, so it runs.
        if BenchCluster.unavailable == nil {
            let cluster = try #require(object["cluster"] as? [String: Any], "the cluster scenario did not run")
            for path in ["relayDirect", "relayProxied"] {
                #expect(((cluster[path] as? [String: Any])?["msgsPerSec"] as? Double ?? 0) > 0, "\(path)")
            }
            let resume = try #require(cluster["resumeStorm"] as? [String: Any])
            #expect(resume["pairs"] as? Int == BenchProfile.tiny.joinStorm)
            #expect(resume["errors"] as? Int == 0 && resume["untouchedLost"] as? Int == 0)
            #expect(resume["takenOver"] as? Int == resume["pairsOnKilled"] as? Int)
            #expect((resume["participants"] as? Int ?? 0) == 2 * (resume["pairsOnKilled"] as? Int ?? -1))
            let clusterAudit = try #require(cluster["audit"] as? [String: Any])
            #expect(clusterAudit["appended"] as? Int == BenchProfile.tiny.clusterAuditEntries)
        }

        // The Markdown part is replaced in place, the hand-written rest kept.
        let document = "# Benchmarks\n\nWhat limits it.\n"
        let once = BenchMarkdown.update(document, with: report)
        let twice = BenchMarkdown.update(once + "\nMore notes.\n", with: report)
        #expect(twice.hasPrefix(document) && twice.hasSuffix("More notes.\n"))
        #expect(twice.components(separatedBy: BenchMarkdown.begin).count == 2)
        #expect(once.contains("| Samrom |"))
    }

    @Test func theCommandRefusesBadArgumentsWithAReason() throws {
        let bench = try #require(Self.built("samrom-bench"), "samrom-bench was not built")
        for arguments in [
            ["run", "--profile", "huge"], ["run", "--only", "relay,everything"], ["run", "--samrom", "/nonexistent/samrom"],
            ["run", "--saltyrtc", "/nonexistent/saltyrtc-server"], ["ceiling", "--port", "70000", "--tls-cert", "x", "--tls-key", "y"],
            ["ceiling", "--port", "0", "--tls-cert", "/nonexistent.crt", "--tls-key", "/nonexistent.key"], ["micro", "--iterations", "many"],
        ] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: bench)
            process.arguments = arguments
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus != 0, "\(arguments)")
            #expect(!message.isEmpty && !message.contains("Fatal error"), "\(arguments): \(message)")
        }
    }

    @Test func relayFramesAreSealedSignalsThatCarryTheirSendTime() throws {
        let traffic = RelayTraffic()
        let consultation = ConsultationID.random()
        let (veileder, deltaker) = (KeyExchange.KeyPair.generate(), KeyExchange.KeyPair.generate())
        let (offerer, answerer) = (ParticipantID.random(), ParticipantID.random())
        let (first, second) = try traffic.sides(consultation: consultation, offerer: (offerer, veileder), answerer: (answerer, deltaker))
        let nanos: UInt64 = 1_234_567_890_123_456_789
        for index in 0..<20 {
            let (side, to, own) = index % 2 == 0 ? (first, answerer, veileder) : (second, offerer, deltaker)
            let frame = side.frame(index, nanos: nanos)
            #expect(RelayTraffic.timestamp(in: frame.utf8) == nanos, "\(frame.prefix(80))")
            // What the server accepts from a client in the call...
            guard case .signal(let target, let signal) = try ClientMessage.decode(frame) else {
                Issue.record("not a signal: \(frame.prefix(80))")
                continue
            }
            #expect(target == to)
            #expect(signal.senderKeyId == DeviceKey.keyID(own.publicKey))
            // ...with a box exactly as long as the real seal of today's offer, answer or ICE candidate...
            let payload = index % 10 == 0 ? (index % 2 == 0 ? traffic.offer : traffic.answer) : traffic.ice
            #expect(signal.box.utf8.count == (try RelayTraffic.boxCharacters(payload)))
            // ...and, relayed as Samrom writes it (keys sorted: the nonce after the box), still stamped.
            let relayed = ServerMessage.signal(from: index % 2 == 0 ? offerer : answerer, signal).encoded()
            #expect(RelayTraffic.timestamp(in: relayed.utf8) == nanos)
            // SaltyRTC's frames: its 24-byte header, then the same text.
            #expect(RelayTraffic.timestamp(in: [UInt8](repeating: 0x41, count: 24) + Array(frame.utf8)) == nanos)
        }
        // The boxes are real: the peer opens each seal (under the nonce it was made with).
        let deltakerSide = try PairChannel(consultation: consultation, own: deltaker, peer: veileder.publicKey)
        let veilederSide = try PairChannel(consultation: consultation, own: veileder, peer: deltaker.publicKey)
        #expect(try deltakerSide.open(first.sealedSetup) == traffic.offer)
        #expect(try deltakerSide.open(first.sealedIce) == traffic.ice)
        #expect(try veilederSide.open(second.sealedSetup) == traffic.answer)
        // Today's sizes: ~3 KB of SDP, a ~200 B candidate, padded to 256 and sealed.
        #expect(try RelayTraffic.boxCharacters(traffic.offer) == ((3328 + 16) * 4 + 2) / 3)
        #expect(try RelayTraffic.boxCharacters(traffic.ice) == ((256 + 16) * 4 + 2) / 3)
        // The ceiling's and SaltyRTC's rooms send frames exactly as long.
        let (bare, _) = try traffic.standaloneSides()
        #expect(bare.frame(0, nanos: nanos).utf8.count == first.frame(0, nanos: nanos).utf8.count)
        #expect(bare.frame(1, nanos: nanos).utf8.count == first.frame(1, nanos: nanos).utf8.count)

        for text in [#"{"type":"pong"}"#, #"{"type":"roster","participants":[]}"#, #"{"nonce":"AQAAAAAAAAAAAAAA"}"#] {
            #expect(RelayTraffic.timestamp(in: text.utf8) == nil, "\(text)")
        }
        #expect(ChatScenario.sentTime(inAck: #"{"clientMsgId":"987654321-3-7","seq":4,"type":"chat-ack"}"#) == 987_654_321)
    }

    @Test func chatFramesAreWhatTheServerAcceptsAndThePeerOpens() throws {
        let consultation = ConsultationID.random()
        let (veileder, deltaker) = (KeyExchange.KeyPair.generate(), KeyExchange.KeyPair.generate())
        let sender = ChatScenario.Sender(
            toPeer: try PairChannel(consultation: consultation, own: deltaker, peer: veileder.publicKey),
            toSelf: try PairChannel(consultation: consultation, own: deltaker, peer: deltaker.publicKey))
        let id = "\(RelayTraffic.now())-1-2"
        guard case .chat(let envelope) = try ClientMessage.decode(ChatScenario.chatFrame(sender, id: id)) else {
            Issue.record("not a chat")
            return
        }
        #expect(envelope.clientMsgId == id && envelope.senderKeyId == DeviceKey.keyID(deltaker.publicKey))
        #expect(envelope.copies.map(\.recipientKeyId) == [DeviceKey.keyID(veileder.publicKey), DeviceKey.keyID(deltaker.publicKey)])
        for (copy, reader) in zip(envelope.copies, [
            try PairChannel(consultation: consultation, own: veileder, peer: deltaker.publicKey), sender.toSelf,
        ]) {
            let stored = StoredChat(
                from: .random(), senderRole: .deltaker, clientMsgId: id, senderKeyId: envelope.senderKeyId, copy: copy, seq: 1, storedAt: Date())
            #expect(try reader.openChat(stored).text.hasSuffix(id))
        }
    }

    @Test func theMicroBenchmarksRun() {
        let lines = MicroBenchmarks.run(iterations: 10)
        #expect(lines.count >= 10 && lines.allSatisfy { $0.hasSuffix(" µs") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("check a sealed offer's shape") })
        #expect(lines.contains { $0.hasPrefix("decode signal, offer") } && lines.contains { $0.hasPrefix("encode relayed chat copy") })
    }

    @Test func messagePackRoundTripsWhatSaltyRTCSends() throws {
        let value = MessagePack.map([
            ("type", .string("client-auth")), ("your_cookie", .binary(Array(repeating: 7, count: 16))),
            ("subprotocols", .array([.string("v1.saltyrtc.org")])), ("ping_interval", .int(4)),
            ("big", .int(70_000)), ("negative", .int(-200)), ("ok", .bool(true)), ("nothing", .null),
            ("long", .string(String(repeating: "å", count: 40))),
        ])
        #expect(try MessagePack.decode(value.encoded()) == value)
        // A fixmap with a fixstr key and a positive fixint, byte for byte.
        #expect(MessagePack.map([("a", .int(1))]).encoded() == [0x81, 0xA1, 0x61, 0x01])
        #expect(throws: MessagePack.DecodingError.self) { try MessagePack.decode([0x82, 0xA1, 0x61]) }
        #expect(throws: MessagePack.DecodingError.self) { try MessagePack.decode([0xC1]) }
        #expect(throws: MessagePack.DecodingError.self) { try MessagePack.decode(Array(repeating: 0x91, count: 100) + [0x01]) }
    }
}
