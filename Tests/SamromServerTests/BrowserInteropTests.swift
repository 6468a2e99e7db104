import Foundation
import SamromCore
import SamromTestSupport
import Sodium
import Testing

/// The chat construction in real headless Chromium (libsodium built to
/// WebAssembly, Web/lib/e2e.js) against the Swift one, byte for byte: the
/// documented test vector sealed in the browser, a browser message opened in
/// Swift, a Swift message opened in the browser, tampering refused there.
/// `make test` provides Chromium, the Selenium venv and the wasm module, and
/// runs the suite inside a loopback-only network namespace.
@Suite(.serialized) struct BrowserInteropTests {
    static let python = LiveServer.repositoryRoot.appendingPathComponent(".build/browser-venv/bin/python").path
    static let wasm = LiveServer.repositoryRoot.appendingPathComponent("Web/lib/sodium.wasm").path
    /// Only inside the loopback-only namespace `make test` makes, with its tools there.
    static var available: Bool {
        ProcessInfo.processInfo.environment["SAMROM_LOOPBACK_NETNS"] == "1"
            && ["/usr/bin/chromium", "/usr/bin/chromedriver", python, wasm].allSatisfy(FileManager.default.fileExists(atPath:))
    }

    @Test(.enabled(if: available, "runs under `make test`: Chromium in a loopback-only network namespace"))
    func chatInteroperatesWithHeadlessChromium() async throws {
        try await withServer { server in
            let consultation = ConsultationID.random()
            let veileder = KeyExchange.KeyPair.generate()
            let fixedVeileder = try KeyExchange.KeyPair.fromSeed(SecureBytes(Array(repeating: 1, count: 32)))
            let fixedDeltaker = try KeyExchange.KeyPair.fromSeed(SecureBytes(Array(repeating: 2, count: 32)))
            let vector: [String: String] = [
                "consultation": "7f14QGE6RccA1oCVrjP05g", "clientMsgId": "m-0001",
                "text": "Hei! Jeg er litt sein i dag.", "sentAt": "2026-11-24T09:30:00.000Z",
                "deltakerPublicKey": Base64URL.encode(fixedDeltaker.publicKey.bytes),
                "deltakerSecretKey": Base64URL.encode(fixedDeltaker.secretKey.copyBytes()),
                "veilederPublicKey": Base64URL.encode(fixedVeileder.publicKey.bytes),
            ]
            let script = try BrowserScript("chat_interop.py", [
                "https://localhost:\(server.port)", consultation.rawValue, Base64URL.encode(veileder.publicKey.bytes),
                String(decoding: try JSONSerialization.data(withJSONObject: vector), as: UTF8.self),
            ])

            // Step 1: the browser's vector, key and first message.
            let first = try script.next()
            #expect(first["vectorCiphertext"] as? String == ChatCipherVector.ciphertext)
            #expect(first["vectorKeyId"] as? String == "KLqljBKXTshj1Sut3V6mog")
            #expect(first["vectorSafetyCode"] as? String == "9445 1859 5616")
            let browserKey = try KeyExchange.PublicKey(try Base64URL.decode(try #require(first["publicKey"] as? String)))
            #expect(first["keyId"] as? String == ChatKey.keyID(browserKey))
            let cipher = try ChatCipher(consultation: consultation, role: .veileder, own: veileder, peer: browserKey)
            #expect(first["safetyCode"] as? String == cipher.safetyCode)
            let raw = try #require(first["envelope"] as? [String: String])
            let envelope = ChatEnvelope(
                clientMsgId: raw["clientMsgId"] ?? "", senderKeyId: raw["senderKeyId"] ?? "", recipientKeyId: raw["recipientKeyId"] ?? "",
                nonce: raw["nonce"] ?? "", ciphertext: raw["ciphertext"] ?? "")
            #expect(try envelope.validated() == envelope)
            #expect(try cipher.open(envelope, senderRole: .deltaker).text == "Hilsen fra nettleseren ✓ æøå")

            // Step 2: a Swift message, opened in the browser; tampered copies refused there.
            let reply = try cipher.seal(.init(text: "Svar fra Swift 👋 — ÆØÅ", sentAt: "2026-11-24T09:31:00.000Z"), clientMsgId: "swift-1")
            let replyJSON: [String: String] = [
                "clientMsgId": reply.clientMsgId, "senderKeyId": reply.senderKeyId, "recipientKeyId": reply.recipientKeyId,
                "nonce": reply.nonce, "ciphertext": reply.ciphertext,
            ]
            try script.send(replyJSON)
            let second = try script.next()
            #expect(second["text"] as? String == "Svar fra Swift 👋 — ÆØÅ")
            let attempts = try #require(second["attempts"] as? [String: String])
            #expect(attempts.count == 6)
            #expect(attempts.values.allSatisfy { $0 == "refused" }, "\(attempts)")

            // The page loaded nothing from anywhere but our own server.
            let third = try script.next()
            #expect(third["resourceHosts"] as? [String] == ["localhost:\(server.port)"])
            #expect(script.finish() == 0)
        }
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
            let result = try script.next()
            // WCAG 2.1 A/AA by axe-core, on every screen the flow passed through.
            #expect(result["axe"] as? [String] == [], "\(result["axe"] ?? "")")
            #expect((result["axeSelfCheck"] as? [String])?.contains { $0.contains("button-name") } == true, "axe did not run")
            #expect(result["wrongPassword"] as? String == "Feil brukernavn eller passord.")
            #expect((result["listed"] as? String)?.contains("Oppfølging uke 3") == true)
            #expect((result["lobbyText"] as? String)?.contains("Veilederen slipper deg inn snart") == true)
            #expect((result["waitingShown"] as? String)?.contains("1 venter i venterommet") == true)
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
            // The chat, end to end in both pages: the same safety code, a message each way,
            // and the plaintext never on the server's disk.
            let codes = try #require(result["safetyCodes"] as? [String])
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
            #expect(script.finish() == 0)
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
            let result = try script.next()
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
            #expect(script.finish() == 0)
            #expect(try await server.auditEntries().contains { $0.event.action == .auditSearch && $0.event.reason == purpose })
        }
    }
}

/// docs/protocol.md's test vector ciphertext.
enum ChatCipherVector {
    static var ciphertext: String {
        let document = try! String(
            contentsOf: LiveServer.repositoryRoot.appendingPathComponent("docs/protocol.md"), encoding: .utf8)
        let start = document.range(of: "```chat-vector-ciphertext\n")!
        let end = document.range(of: "\n```", range: start.upperBound..<document.endIndex)!
        return String(document[start.upperBound..<end.lowerBound])
    }
}

/// A Python script in Tests/Browser that drives Chromium and speaks JSON
/// lines: one line per step on its stdout, answers on its stdin.
final class BrowserScript {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let errors = Pipe()
    private var buffer = Data()

    init(_ name: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: BrowserInteropTests.python)
        process.arguments = [LiveServer.repositoryRoot.appendingPathComponent("Tests/Browser/\(name)").path] + arguments
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
    }

    deinit {
        if process.isRunning { process.terminate() }
    }

    /// The next line; fails with the script's stderr if it ended, or with the
    /// browser's error if the line carries one.
    func next() throws -> [String: Any] {
        while !buffer.contains(0x0A) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty {
                let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                throw TestFailure("the browser script ended early: \(message.suffix(3000))")
            }
            buffer.append(chunk)
        }
        let index = buffer.firstIndex(of: 0x0A)!
        let line = buffer[..<index]
        buffer = Data(buffer[(index + 1)...])
        let object = try JSONSerialization.jsonObject(with: line) as? [String: Any] ?? [:]
        if let error = object["error"] as? String { throw TestFailure("in the browser: \(error)") }
        return object
    }

    func send(_ object: Any) throws {
        input.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: object) + Data("\n".utf8))
    }

    /// Waits for the script to end; its exit status.
    func finish() -> Int32 {
        process.waitUntilExit()
        return process.terminationStatus
    }
}
