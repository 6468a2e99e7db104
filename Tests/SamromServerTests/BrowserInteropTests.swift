import Foundation
import SamromCore
import SamromTestSupport
import Sodium
import Synchronization
import Testing

/// Protocol v2's end-to-end constructions in real headless Chromium (libsodium
/// built to WebAssembly, Web/lib/e2e.js) against the Swift reference
/// (`PairChannel`, `CallCode`), byte for byte: a signal and chat copies (to a
/// peer and to oneself) sealed in the browser with fixed keys and nonce equal
/// Swift's; a Swift signal and chat copy opened in the browser, tampered ones
/// refused there; the browser's opened in Swift; and the call code of a call
/// of three (Swift and two browser participants, every commit and reveal
/// sealed) the same everywhere, while a tampered reveal is refused with a
/// warning and no code. `make test` provides Chromium, the Selenium venv and
/// the wasm module, and runs the suite inside a loopback-only network namespace.
@Suite(.serialized) struct BrowserInteropTests {
    static let python = LiveServer.repositoryRoot.appendingPathComponent(".build/browser-venv/bin/python").path
    static let wasm = LiveServer.repositoryRoot.appendingPathComponent("Web/lib/sodium.wasm").path
    /// Only inside the loopback-only namespace `make test` makes, with its tools there.
    static var available: Bool {
        ProcessInfo.processInfo.environment["SAMROM_LOOPBACK_NETNS"] == "1"
            && ["/usr/bin/chromium", "/usr/bin/chromedriver", python, wasm].allSatisfy(FileManager.default.fileExists(atPath:))
    }

    @Test(.enabled(if: available, "runs under `make test`: Chromium in a loopback-only network namespace"))
    func endToEndInteroperatesWithHeadlessChromium() async throws {
        try await withServer { server in
            let consultation = ConsultationID(rawValue: "7f14QGE6RccA1oCVrjP05g")
            let a = try KeyExchange.KeyPair.fromSeed(SecureBytes(Array(repeating: 1, count: 32)))
            let b = try KeyExchange.KeyPair.fromSeed(SecureBytes(Array(repeating: 2, count: 32)))
            let sdp = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
            let text = PairChannel.ChatText(text: "Hei! Jeg er litt sein i dag.", sentAt: "2026-11-24T09:30:00.000Z")
            let vector: [String: String] = [
                "consultation": consultation.rawValue, "clientMsgId": "m-0001", "text": text.text, "sentAt": text.sentAt, "sdp": sdp,
                "aPublicKey": Base64URL.encode(a.publicKey.bytes), "aSecretKey": Base64URL.encode(a.secretKey.copyBytes()),
                "bPublicKey": Base64URL.encode(b.publicKey.bytes),
            ]
            let script = try BrowserScript("chat_interop.py", [
                "https://localhost:\(server.port)", String(decoding: try JSONSerialization.data(withJSONObject: vector), as: UTF8.self),
            ])

            // Step 1: the fixed vector, byte for byte; the browser's two participants.
            let first = try await script.next()
            let nonce = Array(UInt8(0)..<24)
            let ab = try PairChannel(consultation: consultation, own: a, peer: b.publicKey)
            let aa = try PairChannel(consultation: consultation, own: a, peer: a.publicKey)
            #expect(first["aKeyId"] as? String == DeviceKey.keyID(a.publicKey))
            #expect(first["vectorBKeyId"] as? String == DeviceKey.keyID(b.publicKey))
            #expect(first["lowerIsClient"] as? Bool == a.publicKey.bytes.lexicographicallyPrecedes(b.publicKey.bytes))
            let signal = try Self.sealed(first["signal"])
            #expect(try ab.seal(.offer(sdp: sdp), nonce: nonce) == signal, "the browser's signal box differs from Swift's")
            let chat = try #require(first["chat"] as? [String: Any])
            let copies = try #require(chat["copies"] as? [[String: String]])
            #expect(chat["senderKeyId"] as? String == ab.ownKeyID && copies.count == 2, "\(chat)")
            let toB = try ab.sealChat(text, clientMsgId: "m-0001", nonce: nonce)
            let toSelf = try aa.sealChat(text, clientMsgId: "m-0001", nonce: nonce)
            #expect(copies.contains { $0 == ["recipientKeyId": toB.recipientKeyId, "nonce": toB.nonce, "ciphertext": toB.ciphertext] }, "the copy to B differs")
            #expect(copies.contains { $0 == ["recipientKeyId": toSelf.recipientKeyId, "nonce": toSelf.nonce, "ciphertext": toSelf.ciphertext] }, "the copy to oneself differs")

            // Step 2: Swift's participant S seals for the browser's B, and commits to B and C.
            let s = KeyExchange.KeyPair.generate()
            let bKey = try KeyExchange.PublicKey(try Base64URL.decode(try #require(first["bPublicKey"] as? String)))
            let cKey = try KeyExchange.PublicKey(try Base64URL.decode(try #require(first["cPublicKey"] as? String)))
            #expect(first["bKeyId"] as? String == DeviceKey.keyID(bKey) && first["cKeyId"] as? String == DeviceKey.keyID(cKey))
            let channels = [
                DeviceKey.keyID(bKey): try PairChannel(consultation: consultation, own: s, peer: bKey),
                DeviceKey.keyID(cKey): try PairChannel(consultation: consultation, own: s, peer: cKey),
            ]
            let sb = try #require(channels[DeviceKey.keyID(bKey)])
            var code = CallCode(own: s.publicKey)
            let outputs = code.viewChanged([bKey, cKey])
            let copy = try sb.sealChat(.init(text: "Svar fra Swift 👋 — ÆØÅ", sentAt: "2026-11-24T09:31:00.000Z"), clientMsgId: "swift-1")
            // The copy as the server would hand it to B (a `chat` frame's fields).
            let chatFrame: [String: Any] = [
                "from": "p-swift", "senderRole": "veileder", "clientMsgId": "swift-1", "senderKeyId": sb.ownKeyID,
                "recipientKeyId": copy.recipientKeyId, "nonce": copy.nonce, "ciphertext": copy.ciphertext, "seq": 1,
                "storedAt": "2026-11-24T09:31:00.100Z",
            ]
            let step2: [String: Any] = [
                "publicKey": Base64URL.encode(s.publicKey.bytes),
                "signal": Self.json(try sb.seal(.offer(sdp: "v=0\r\ns=Swift\r\n"))),
                "chat": chatFrame,
                "commits": try Self.sendable(outputs, channels),
            ]
            try script.send(step2)
            let second = try await script.next()
            #expect((second["opened"] as? [String: String])?["sdp"] == "v=0\r\ns=Swift\r\n", "\(second["opened"] ?? "")")
            #expect((second["chat"] as? [String: Any])?["text"] as? String == "Svar fra Swift 👋 — ÆØÅ")
            let attempts = try #require(second["attempts"] as? [String: String])
            #expect(attempts.count == 10 && attempts.values.allSatisfy { $0 == "refused" }, "\(attempts)")
            let selfCopy = try #require(second["selfCopy"] as? [String: Any])
            #expect(selfCopy["text"] as? String == "Hilsen fra nettleseren ✓ æøå" && selfCopy["mine"] as? Bool == true, "\(selfCopy)")
            // The browser's answer and chat message, opened in Swift.
            let back = try Self.sealed(second["signalBack"])
            #expect(try sb.open(back) == .answer(sdp: "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=Svar æøå ✓\r\n"))
            let chatBack = try #require(second["chatBack"] as? [String: Any])
            let backCopy = try #require((chatBack["copies"] as? [[String: String]])?.first { $0["recipientKeyId"] == sb.ownKeyID })
            let stored = StoredChat(
                from: ParticipantID(rawValue: "p-browser"), senderRole: .deltaker, clientMsgId: "browser-1",
                senderKeyId: chatBack["senderKeyId"] as? String ?? "",
                copy: ChatCopy(recipientKeyId: backCopy["recipientKeyId"] ?? "", nonce: backCopy["nonce"] ?? "", ciphertext: backCopy["ciphertext"] ?? ""),
                seq: 2, storedAt: Date())
            #expect(try sb.openChat(stored).text == "Hilsen fra nettleseren ✓ æøå")
            // B's and C's commits and reveals reach S: it reveals, and has the code.
            var answers: [CallCode.Output] = []
            for raw in try #require(second["toSwift"] as? [Any]) {
                let sealed = try Self.sealed(raw)
                let channel = try #require(channels[sealed.senderKeyId])
                answers += code.received(try channel.open(sealed), from: sealed.senderKeyId)
            }
            let swiftCode = try #require(answers.compactMap { output -> String? in
                if case .code(let code) = output { return code }
                return nil
            }.first, "no code in Swift: \(answers)")

            // Step 3: S's reveals; B and C find the same code. A tampered reveal is refused.
            let step3: [String: Any] = ["reveals": try Self.sendable(answers, channels)]
            try script.send(step3)
            let third = try await script.next()
            #expect(third["codes"] as? [String: String] == ["B": swiftCode, "C": swiftCode], "Swift \(swiftCode), browser \(third["codes"] ?? "")")
            #expect((third["warnings"] as? [String: Any])?.isEmpty == true)
            let tamper = try #require(third["tamper"] as? [String: Any])
            #expect(tamper["yWarned"] as? Bool == true && tamper["yCode"] is NSNull && tamper["yState"] as? String == "mismatch", "\(tamper)")
            #expect(tamper["othersAgree"] as? Bool == true, "\(tamper)")

            // The page loaded nothing from anywhere but our own server.
            let last = try await script.next()
            #expect(last["resourceHosts"] as? [String] == ["localhost:\(server.port)"])
            #expect(await script.finish() == 0)
        }
    }

    /// A sealed signal as the browser wrote it.
    static func sealed(_ value: Any?) throws -> SealedSignal {
        guard let raw = value as? [String: Any] else { throw TestFailure("not a sealed signal: \(value ?? "nil")") }
        return SealedSignal(
            senderKeyId: raw["senderKeyId"] as? String ?? "", recipientKeyId: raw["recipientKeyId"] as? String ?? "",
            nonce: raw["nonce"] as? String ?? "", box: raw["box"] as? String ?? "")
    }

    static func json(_ signal: SealedSignal) -> [String: String] {
        ["senderKeyId": signal.senderKeyId, "recipientKeyId": signal.recipientKeyId, "nonce": signal.nonce, "box": signal.box]
    }

    /// The call code's messages to send, sealed for their recipients.
    static func sendable(_ outputs: [CallCode.Output], _ channels: [String: PairChannel]) throws -> [[String: String]] {
        var sealed: [[String: String]] = []
        for output in outputs {
            guard case .send(let to, let payload) = output else { continue }
            guard let channel = channels[to] else { throw TestFailure("no channel to \(to)") }
            sealed.append(json(try channel.seal(payload)))
        }
        return sealed
    }
}

extension BrowserInteropTests {
    /// Two Chromiums with fake cameras, driven by clicks through the real
    /// pages: the veileder logs in (a wrong password first), creates a
    /// consultation and copies the link; the deltaker checks devices and waits
    /// in the lobby; the overview shows them waiting; the veileder lets them
    /// in; each page plays the other's video, negotiated by protocol.js and
    /// rtc.js through Samrom's signalling.
    @Test(.enabled(if: available, "runs under `make test`: Chromium in a loopback-only network namespace"))
    func twoBrowsersHoldAVideoCall() async throws {
        try await withServer { server in
            try await server.addUser("kari", role: .veileder, password: "a good long password")
            let marker = "Jeg gikk en lang tur i dag \(UUID().uuidString.prefix(8))"
            let script = try BrowserScript("call_flow.py", [
                "https://localhost:\(server.port)", "kari", "a good long password", marker,
            ])
            let result = try await script.next()
            // WCAG 2.1 A/AA by axe-core, on every screen the flow passed through.
            #expect(result["axe"] as? [String] == [], "\(result["axe"] ?? "")")
            #expect((result["axeSelfCheck"] as? [String])?.contains { $0.contains("button-name") } == true, "axe did not run")
            #expect(result["wrongPassword"] as? String == "Feil brukernavn eller passord.")
            #expect((result["listed"] as? String)?.contains("Oppfølging uke 3") == true)
            #expect((result["lobbyText"] as? String)?.contains("Veilederen slipper deg inn snart") == true)
            #expect((result["waitingShown"] as? String)?.contains("1 venter i venterommet") == true)
            #expect((result["lobbyItem"] as? String)?.hasPrefix("En deltaker venter.") == true, "the knock names the role: \(result["lobbyItem"] ?? "")")
            // The veileder's "hold on" message reached the lobby (the server keeps it nowhere).
            #expect(result["holdMessage"] as? String == "Beskjed fra veilederen: Jeg kommer om fem minutter.")
            // Protocol v2 only: call set-up went as sealed `signal` boxes, never in the clear.
            let frames = try #require(result["frames"] as? [String: [String: [String: Int]]])
            let clientTypes = ClientMessage.knownTypes
            for side in ["veileder", "deltaker"] {
                let sent = frames[side]?["sent"] ?? [:], received = frames[side]?["received"] ?? [:]
                #expect(Set(sent.keys).isSubset(of: clientTypes), "\(side) sent \(sent)")
                #expect(sent["key"] ?? 0 >= 1 && sent["signal"] ?? 0 >= 3 && received["signal"] ?? 0 >= 3, "\(side): \(sent) \(received)")
                #expect(Set(received.keys).isDisjoint(with: ["offer", "answer", "ice", "media", "peer-joined", "peer-left"]), "\(side) got \(received)")
            }
            for side in ["veileder", "deltaker"] {
                let page = try #require(result[side] as? [String: Any], "no \(side)")
                #expect(page["state"] as? String == (side == "veileder" ? "room" : "call"))
                #expect((page["remoteVideoWidth"] as? Int ?? 0) > 0, "\(side) shows no video: \(page)")
                // Direct on loopback (no TURN configured): host candidates, frames decoded.
                let stats = try #require((result["stats"] as? [String: Any])?[side] as? [String: Any], "no stats")
                #expect(stats["policy"] as? String == "all" && stats["local"] as? String == "host", "\(side): \(stats)")
                #expect((stats["framesDecoded"] as? Int ?? 0) > 0 && (stats["bytesReceived"] as? Int ?? 0) > 0, "\(side): \(stats)")
            }
            Self.expectQuality(result)
            // The chat, end to end in both pages: the same call code, a message each way,
            // and the plaintext never on the server's disk.
            let codes = try #require(result["callCodes"] as? [String])
            #expect(result["callCodeLabel"] as? String == "Samtalekode:")
            #expect(result["codeWarningShown"] as? [Bool] == [false, false])
            #expect(codes.count == 2 && codes[0] == codes[1], "\(codes)")
            #expect((result["veilederMessages"] as? String)?.contains(marker) == true)
            #expect((result["deltakerMessages"] as? String)?.contains("Takk, det hører jeg!") == true)
            #expect(!(try dataDirectoryContains(server, marker)))
            #expect(result["deltakerAfterLeave"] as? String == "done")
            // Who has seen my consultation: the veileder by name, and nothing of other people's data.
            let report = try #require(result["accessReport"] as? [String])
            #expect(report.contains { $0.contains("Veileder kari") && $0.contains("laget samtalen") }, "\(report)")
            #expect(report.contains { $0.contains("slapp inn") }, "\(report)")
            #expect(!report.joined().contains("127.0.0.1"))
            #expect(result["veilederAfterLeave"] as? String == "Deltakeren har forlatt samtalen.")
            #expect(result["resourceHosts"] as? [String] == ["localhost:\(server.port)"])
            #expect(await script.finish() == 0)
            // The whole call is in the audit log; no SDP is.
            let actions = try await server.auditEntries().map(\.event.action)
            for action: AuditAction in [.login, .consultationCreate, .join, .knock, .admit, .leave] {
                #expect(actions.contains(action), "missing \(action.rawValue)")
            }
        }
    }
}

extension BrowserInteropTests {
    /// The personvernombud's page: a purpose is required, denied entries are
    /// found, the purpose itself is logged, and the log verifies.
    @Test(.enabled(if: available, "runs under `make test`: Chromium in a loopback-only network namespace"))
    func thePersonvernombudReadsAndVerifiesTheLog() async throws {
        try await withServer { server in
            try await server.addUser("pvo", role: .privacyOfficer, password: "the officer's password")
            try await server.addUser("kari", role: .veileder)
            #expect(try await HTTPTestClient(server).login("kari", "not kari's password").status == 401)
            let purpose = "Deltaker ba om innsyn, sak 2026/17"
            let script = try BrowserScript("audit_flow.py", [
                "https://localhost:\(server.port)", "pvo", "the officer's password", purpose,
            ])
            let result = try await script.next()
            #expect(result["axe"] as? [String] == [], "\(result["axe"] ?? "")")
            #expect(result["withoutPurpose"] as? String == "Skriv hvorfor du trenger å lese loggen.")
            let rows = try #require(result["rows"] as? [String])
            #expect(rows.count == 1, "\(rows)")
            #expect(rows.first?.contains("login") == true && rows.first?.contains("Avvist") == true, "\(rows)")
            #expect((result["verdict"] as? String)?.hasPrefix("Loggen er uendret") == true, "\(result)")
            #expect((result["checkpoint"] as? String)?.hasPrefix("localhost/samrom-audit\n") == true)
            // The same page in English (axe checked it above, too).
            let english = try #require(result["english"] as? [String: String])
            #expect(english == ["lang": "en", "heading": "The access log", "verify": "Check the log"], "\(english)")
            #expect(result["resourceHosts"] as? [String] == ["localhost:\(server.port)"])
            #expect(await script.finish() == 0)
            #expect(try await server.auditEntries().contains { $0.event.action == .auditSearch && $0.event.reason.hasPrefix(purpose + " (searched: ") })
        }
    }
}

/// A Python script in Tests/Browser that drives Chromium and speaks JSON
/// lines: one line per step on its stdout, answers on its stdin. Its output
/// is gathered as it comes (a readability handler), so a test waiting for
/// the next line holds no thread of the test run's few (`Command`) and the
/// script never blocks on a full pipe.
final class BrowserScript {
    private struct Received {
        var output = Data()
        var errors = Data()
        var outputEnded = false
    }

    /// Filled by the pipes' handlers, on threads of their own.
    private final class Inbox: Sendable {
        private let state = Mutex(Received())
        func withLock<R: Sendable>(_ body: (inout Received) -> R) -> R { state.withLock { body(&$0) } }
    }

    private let process = Process()
    private let input = Pipe()
    private let received = Inbox()

    init(_ name: String, _ arguments: [String]) throws {
        let output = Pipe(), errors = Pipe()
        process.executableURL = URL(fileURLWithPath: BrowserInteropTests.python)
        process.arguments = [LiveServer.repositoryRoot.appendingPathComponent("Tests/Browser/\(name)").path] + arguments
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        let received = self.received
        output.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            if chunk.isEmpty { handle.readabilityHandler = nil }
            received.withLock {
                if chunk.isEmpty { $0.outputEnded = true } else { $0.output.append(chunk) }
            }
        }
        errors.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            if chunk.isEmpty { handle.readabilityHandler = nil }
            received.withLock { $0.errors.append(chunk) }
        }
        try process.run()
    }

    deinit {
        if process.isRunning { process.terminate() }
    }

    /// The next line; fails with the script's stderr if it ended, or with the
    /// browser's error if the line carries one.
    func next() async throws -> [String: Any] {
        while true {
            let (line, ended): (Data?, Bool) = received.withLock { received in
                guard let index = received.output.firstIndex(of: 0x0A) else { return (nil, received.outputEnded) }
                let line = Data(received.output[..<index])
                received.output = Data(received.output[(index + 1)...])
                return (line, false)
            }
            if let line {
                let object = try JSONSerialization.jsonObject(with: line) as? [String: Any] ?? [:]
                if let error = object["error"] as? String {
                    throw TestFailure("in the browser: \(error)\(object["debug"].map { " — what the pages showed: \($0)" } ?? "")")
                }
                return object
            }
            if ended {
                // What it printed to stderr may still be on its way.
                try? await Task.sleep(for: .milliseconds(200))
                let message = String(decoding: received.withLock { $0.errors }, as: UTF8.self)
                throw TestFailure("the browser script ended early: \(message.suffix(3000))")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    func send(_ object: Any) throws {
        input.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: object) + Data("\n".utf8))
    }

    /// Waits for the script to end; its exit status.
    func finish() async -> Int32 {
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        return process.terminationStatus
    }
}
