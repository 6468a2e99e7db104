import Foundation
import SamromCore
import SamromServer
import SamromTestSupport
import Testing

/// STUN/TURN messages on the wire: RFC 5769's test vectors, round trips, and
/// hostile bytes that must be refused, never crash.
@Suite struct STUNMessageTests {
    /// RFC 5769 2.4, "Sample Request with Long-Term Authentication".
    static let longTermRequest = hex("""
        00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
        00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
        00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41
        00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
        00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66
        """)

    /// RFC 5769 2.3, "Sample IPv6 Response": XOR-MAPPED-ADDRESS, then
    /// MESSAGE-INTEGRITY (short-term) followed by FINGERPRINT.
    static let ipv6Response = hex("""
        01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
        00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
        00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
        80 28 00 04 c8 fb 0b 4c
        """)

    static func hex(_ text: String) -> [UInt8] {
        text.split(whereSeparator: \.isWhitespace).map { UInt8($0, radix: 16)! }
    }

    @Test func theLongTermVectorDecodesAndItsIntegrityKeyIsMD5OfUsernameRealmPassword() throws {
        let message = try STUNMessage(decoding: Self.longTermRequest)
        #expect(message.method == .binding && message.messageClass == .request)
        #expect(message.transactionID == Self.hex("78 ad 34 33 c6 ad 72 c0 29 da 41 2e"))
        let username = "\u{30DE}\u{30C8}\u{30EA}\u{30C3}\u{30AF}\u{30B9}"
        #expect(message.attributes.first == .username(username))
        #expect(message.nonce == "f//499k954d6OL34oL9FSTvy64sA")
        #expect(message.realm == "example.org")
        // The password "The<U+00AD>M<U+00AA>tr<U+2168>x" after SASLprep.
        let key = STUNMessage.longTermKey(username: username, realm: "example.org", password: "TheMatrIX")
        #expect(STUNMessage.integrityIsValid(Self.longTermRequest, key: key))
        #expect(!STUNMessage.integrityIsValid(Self.longTermRequest, key: STUNMessage.longTermKey(username: username, realm: "example.org", password: "TheMatrix")))

        // Encoding the same attributes under the same key gives the vector, byte for byte.
        var unsigned = message
        unsigned.attributes.removeAll { if case .messageIntegrity = $0 { true } else { false } }
        #expect(unsigned.encoded(integrityKey: key) == Self.longTermRequest)
    }

    @Test func theIPv6VectorGivesItsAddressAndIntegrityEndsBeforeTheFingerprint() throws {
        let message = try STUNMessage(decoding: Self.ipv6Response)
        #expect(message.method == .binding && message.messageClass == .successResponse)
        #expect(message.attributes.first == .software("test vector"), "its padding is spaces, ignored")
        let address = try #require(message.xorMappedAddress)
        #expect(address.description == "[2001:db8:1234:5678:11:2233:4455:6677]:32853")
        // Short-term credentials: the key is the password itself.
        #expect(STUNMessage.integrityIsValid(Self.ipv6Response, key: Array("VOkJxbRl1RmTxUk/WvJxBt".utf8)))
        #expect(!STUNMessage.integrityIsValid(Self.ipv6Response, key: Array("VOkJxbRl1RmTxUk/WvJxBT".utf8)))
    }

    @Test func aMessageSurvivesARoundTrip() throws {
        let id = (0..<12).map { UInt8($0 * 7) }
        let relay = try #require(STUNMessage.TransportAddress(address: [127, 0, 0, 1], port: 49160))
        let mapped = try #require(STUNMessage.TransportAddress(address: [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1], port: 3478))
        #expect(mapped.description == "[2001:db8::1]:3478")
        let message = STUNMessage(method: .allocate, class: .successResponse, transactionID: id, attributes: [
            .xorRelayedAddress(relay), .xorMappedAddress(mapped), .lifetime(600), .software("Coturn-4.6.1"),
            .errorCode(code: 438, reason: "Stale Nonce"), .requestedTransport(17), .username("1:samrom-doctor"),
            .realm("samrom.test"), .nonce("abc"), .other(type: 0x8028, value: [1, 2, 3, 4]),
        ])
        let bytes = message.encoded()
        #expect(bytes.count % 4 == 0)
        #expect(Array(bytes[0..<2]) == [0x01, 0x03], "Allocate success response")
        #expect(try STUNMessage(decoding: bytes) == message)

        let key = STUNMessage.longTermKey(username: "1:samrom-doctor", realm: "samrom.test", password: "pw")
        let signed = message.encoded(integrityKey: key)
        #expect(STUNMessage.integrityIsValid(signed, key: key))
        #expect(!STUNMessage.integrityIsValid(bytes, key: key), "no MESSAGE-INTEGRITY at all")
        var tampered = signed
        tampered[30] ^= 1
        #expect(!STUNMessage.integrityIsValid(tampered, key: key))
        #expect(try STUNMessage.frameLength(signed.prefix(4)) == signed.count)

        let refresh = STUNMessage.request(.refresh, [.lifetime(0)]).encoded()
        #expect(Array(refresh[0..<2]) == [0x00, 0x04])
        let error = STUNMessage(method: .allocate, class: .errorResponse, transactionID: id).encoded()
        #expect(Array(error[0..<2]) == [0x01, 0x13])
    }

    @Test func truncatedAndHostileBytesThrowAndNeverCrash() throws {
        let vector = Self.longTermRequest
        for length in 0..<vector.count {
            #expect(throws: STUNMessage.DecodingError.self) { try STUNMessage(decoding: Array(vector[..<length])) }
            #expect(!STUNMessage.integrityIsValid(Array(vector[..<length]), key: [1]))
        }
        let noCookie = #expect(throws: STUNMessage.DecodingError.self) { try STUNMessage(decoding: [UInt8](repeating: 0, count: 20)) }
        #expect(noCookie?.code == .notSTUN)
        // An attribute whose length runs past the end, inside a well-formed header.
        var overrun = Array(vector[..<28])
        overrun[3] = 8
        overrun[26] = 0xFF
        let runsPast = #expect(throws: STUNMessage.DecodingError.self) { try STUNMessage(decoding: overrun) }
        #expect(runsPast?.code == .truncated)
        // An XOR address with an unknown family, and one that is too short.
        let header = Array(vector[..<20])
        for value: [UInt8] in [[0, 3, 0, 0, 1, 2, 3, 4], [0, 1, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8], [0, 2, 0, 0, 1, 2, 3, 4]] {
            var bytes = header + [0x00, 0x16, 0x00, UInt8(value.count)] + value
            bytes[3] = UInt8(bytes.count - 20)
            let bad = #expect(throws: STUNMessage.DecodingError.self) { try STUNMessage(decoding: bytes) }
            #expect(bad?.code == .badAttribute, "\(value)")
        }
        #expect(throws: STUNMessage.DecodingError.self) { try STUNMessage.frameLength([0x40, 0x00, 0x00, 0x04]) }
        #expect(try STUNMessage.frameLength([0x01]) == nil)

        // Every single-byte change of both vectors, and random garbage
        // (with the magic cookie, so it gets past the header), decode or throw.
        for vector in [Self.longTermRequest, Self.ipv6Response] {
            for index in vector.indices {
                for flip: UInt8 in [0x01, 0x80, 0xFF] {
                    var bytes = vector
                    bytes[index] ^= flip
                    _ = try? STUNMessage(decoding: bytes)
                    _ = STUNMessage.integrityIsValid(bytes, key: [0])
                }
            }
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let length = Int.random(in: 20...96, using: &generator) / 4 * 4
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            bytes[0] &= 0x3F
            bytes[2] = 0
            bytes[3] = UInt8(length - 20)
            bytes.replaceSubrange(4..<8, with: [0x21, 0x12, 0xA4, 0x42])
            _ = try? STUNMessage(decoding: bytes)
        }
    }
}

/// `samrom doctor`'s TURN check against a real coturn (issue 18): one
/// allocation made with the configured secret and freed; the wrong secret,
/// a wrong clock, nothing listening and bad URLs each said plainly.
@Suite(.enabled(if: TurnServer.available, "needs coturn (/usr/bin/turnserver, scripts/install-deps.sh)"))
struct TurnProbeTests {
    /// Long enough for a coturn just started on a loaded machine: a healthy one answers in milliseconds.
    static let generous: Duration = .seconds(15)

    /// A coturn on a free port with relay ports of its own, so that tests can run at once.
    static func turnServer(certificate: TestCertificate? = nil) async throws -> TurnServer {
        let port = TurnServer.unusedPort()
        let relayBase = 40000 + port % 100 * 200
        return try await TurnServer.start(port: port, relayPorts: relayBase...(relayBase + 199), certificate: certificate)
    }

    static func relayIsLoopback(_ outcome: TurnProbe.Outcome) -> Bool {
        guard case .allocated(let relay) = outcome else { return false }
        return relay.hasPrefix("127.0.0.1:")
    }

    @Test func theRightSecretAllocatesOverUDP() async throws {
        let turn = try await Self.turnServer()
        defer { turn.stop() }
        let outcome = await TurnProbe.probe(url: turn.url, secret: Array(turn.secret.utf8), timeout: Self.generous)
        #expect(Self.relayIsLoopback(outcome), "\(outcome)")
        #expect(outcome.description.contains("was made"))
    }

    @Test func theRightSecretAllocatesOverTCP() async throws {
        let turn = try await Self.turnServer()
        defer { turn.stop() }
        let outcome = await TurnProbe.probe(url: turn.tcpURL, secret: Array(turn.secret.utf8), timeout: Self.generous)
        #expect(Self.relayIsLoopback(outcome), "\(outcome)")
    }

    @Test func theRightSecretAllocatesOverTLSWithTheCertificateTrusted() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("samrom-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = try await TestCertificate.make(in: directory)
        let turn = try await Self.turnServer(certificate: certificate)
        defer { turn.stop() }
        let outcome = await TurnProbe.probe(url: turn.tlsURL, secret: Array(turn.secret.utf8), timeout: Self.generous, caFile: certificate.certificate)
        #expect(Self.relayIsLoopback(outcome), "\(outcome)")

        // Not trusted by the system: the probe says it is TLS that failed.
        let untrusted = await TurnProbe.probe(url: turn.tlsURL, secret: Array(turn.secret.utf8), timeout: Self.generous)
        guard case .tlsFailed(let why) = untrusted else { Issue.record("\(untrusted)"); return }
        #expect(why.contains("not trusted"), "\(why)")
        let missing = await TurnProbe.probe(url: turn.tlsURL, secret: Array(turn.secret.utf8), caFile: directory.appendingPathComponent("none.pem").path)
        guard case .tlsFailed = missing else { Issue.record("\(missing)"); return }
    }

    @Test func theWrongSecretOrAClockFarOffIsUnauthorized() async throws {
        let turn = try await Self.turnServer()
        defer { turn.stop() }
        let wrong = await TurnProbe.probe(url: turn.url, secret: Array("not-the-secret".utf8), timeout: Self.generous)
        #expect(wrong == .unauthorized)
        #expect(wrong.description.contains("secret") && wrong.description.contains("clock"))
        #expect(!wrong.description.contains(turn.secret))
        let late = await TurnProbe.probe(url: turn.tcpURL, secret: Array(turn.secret.utf8), timeout: Self.generous, now: Date().addingTimeInterval(-3600))
        #expect(late == .unauthorized)
    }

    @Test func nothingListeningIsNoAnswerOverUDPAndUnreachableOverTCP() async throws {
        let port = TurnServer.unusedPort()
        let start = ContinuousClock.now
        let udp = await TurnProbe.probe(url: "turn:127.0.0.1:\(port)", secret: [1], timeout: .seconds(1))
        #expect(udp == .noAnswer)
        // Bounded by the timeout (generously: the machine is shared).
        #expect(ContinuousClock.now - start < .seconds(20))
        let tcp = await TurnProbe.probe(url: "turn:127.0.0.1:\(port)?transport=tcp", secret: [1], timeout: .seconds(1))
        guard case .unreachable(let why) = tcp else { Issue.record("\(tcp)"); return }
        #expect(why.contains("connection refused"), "\(why)")
    }

    @Test func anUnknownHostIsUnreachable() async {
        // `.invalid` never resolves (RFC 6761); a lookup that hangs is given up at the timeout.
        let start = ContinuousClock.now
        let outcome = await TurnProbe.probe(url: "turn:no-such-host.invalid", secret: [1], timeout: .seconds(2))
        guard case .unreachable = outcome else { Issue.record("\(outcome)"); return }
        #expect(ContinuousClock.now - start < .seconds(20))
    }

    @Test(arguments: [
        "stun:127.0.0.1:3478", "turn:", "turn::3478", "turn:127.0.0.1:0", "turn:127.0.0.1:65536", "turn:127.0.0.1:abc",
        "turn:127.0.0.1:", "turn:[::1", "turn:[nonsense]:3478", "turns:127.0.0.1?transport=udp", "turn:127.0.0.1?transport=sctp",
        "turn:user@127.0.0.1", "turn:127.0.0.1/path", "",
    ])
    func aBadURLIsSaidToBeOne(url: String) async {
        let outcome = await TurnProbe.probe(url: url, secret: [1], timeout: .milliseconds(100))
        guard case .badURL = outcome else { Issue.record("\(url): \(outcome)"); return }
    }

    @Test func urlsAreReadAsRFC7065Says() throws {
        #expect(try TurnProbe.Target(url: "turn:turn.example.org") == TurnProbe.Target(url: "turn:turn.example.org:3478?transport=udp"))
        let tcp = try TurnProbe.Target(url: "turn:[2001:db8::1]:3479?transport=tcp")
        #expect(tcp.host == "2001:db8::1" && tcp.port == 3479 && tcp.transport == .tcp)
        let tls = try TurnProbe.Target(url: "turns:turn.example.org")
        #expect(tls.host == "turn.example.org" && tls.port == 5349 && tls.transport == .tls)
    }

    @Test func theProbeUsesTheBrowsersCredentialRule() {
        let secret = Array("s3cret".utf8)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let provider = IceServerProvider(urls: ["turn:127.0.0.1"], secret: secret, lifetime: 600)
        let server = provider.servers(for: ParticipantID(rawValue: "p-1"), now: now)[0]
        let (username, credential) = IceServerProvider.restCredentials(for: "p-1", expiry: 1_800_000_600, secret: secret)
        #expect(server.username == username && server.credential == credential)
        #expect(username == "1800000600:p-1")
    }
}
