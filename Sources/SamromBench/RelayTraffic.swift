import Foundation
import SamromCore
import Sodium

/// The signalling traffic of a call set-up and its ICE trickle as protocol v2
/// carries it: `signal` frames whose boxes are the browsers' messages sealed
/// end to end. Inside, one offer or answer (3.3 KB of JSON around 3 KB of
/// SDP) for every nine ICE candidates (211 B), the shapes and sizes the v1
/// benchmark relayed in the clear. Sealed, each box is the JSON padded to a
/// multiple of 256 (sodium_pad) plus a 16-byte tag, in base64url: 4,459 and
/// 363 characters.
///
/// Each side of a room seals its two messages (offer or answer, and an ICE
/// candidate) once, with `PairChannel` and the room's real device keys: real
/// ciphertext of exactly a real signal's length. Every frame reuses them: the
/// server cannot open a box and never looks inside, so this costs it what
/// fresh seals would. What changes per frame is the 24-byte `nonce` field,
/// which the server passes through untouched: its first 9 bytes are a zero
/// marker and the send time (uptime nanoseconds, big-endian), the other 15
/// are random per side. That is how the receiving bench client reads the
/// send time back without parsing JSON (and why a receiver could not open
/// these frames' boxes: they were sealed under another nonce).
struct RelayTraffic: Sendable {
    /// The JSON texts sealed in the boxes.
    let offer: SignalPayload
    let answer: SignalPayload
    let ice: SignalPayload

    init() {
        var sdp = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\na=extmap-allow-mixed\r\n"
        sdp += "a=msid-semantic: WMS 6f0c2b1e-9d7a-4c43-9a8e-2f5d1c3b7a90\r\n"
        var line = 0
        while sdp.utf8.count < 3000 {
            line += 1
            sdp += "a=rtpmap:\(96 + line % 32) VP8/90000\r\na=rtcp-fb:\(96 + line % 32) nack pli\r\na=fmtp:\(96 + line % 32) apt=\(line)\r\n"
        }
        offer = .offer(sdp: sdp)
        answer = .answer(sdp: sdp)
        ice = .ice(.init(
            candidate: "candidate:1764000000000000000 1 udp 2122260223 192.168.1.23 54321 typ host generation 0 ufrag Xy9k network-id 1",
            sdpMid: "0", sdpMLineIndex: 0, usernameFragment: "Xy9k"))
    }

    /// One sender's frames to one receiver: `{"type":"signal","to",
    /// "senderKeyId","recipientKeyId","nonce","box"}` with the box sealed once.
    struct Side: Sendable {
        /// Up to and including `"nonce":"`.
        let head: String
        /// The nonce's last 15 bytes (20 characters), after the stamp.
        let nonceTail: String
        /// `","box":"` + the sealed offer (or answer) + `"}`.
        let setupTail: String
        /// `","box":"` + the sealed ICE candidate + `"}`.
        let iceTail: String
        /// The two seals as made, with the nonce they were sealed under (the tests open them).
        let sealedSetup: SealedSignal
        let sealedIce: SealedSignal

        /// Frame `index` stamped with `nanos`: every tenth the offer (or answer), else an ICE candidate.
        func frame(_ index: Int, nanos: UInt64) -> String {
            head + RelayTraffic.stamp(nanos) + nonceTail + (index % 10 == 0 ? setupTail : iceTail)
        }
    }

    /// The two sides of a room: `offerer` sends offers and ICE to `answerer`,
    /// which sends answers and ICE back, each sealed with their pair keys.
    func sides(
        consultation: ConsultationID, offerer: (participant: ParticipantID, keys: KeyExchange.KeyPair),
        answerer: (participant: ParticipantID, keys: KeyExchange.KeyPair)
    ) throws -> (Side, Side) {
        func side(_ from: KeyExchange.KeyPair, to: (participant: ParticipantID, keys: KeyExchange.KeyPair), setup: SignalPayload) throws -> Side {
            let channel = try PairChannel(consultation: consultation, own: from, peer: to.keys.publicKey)
            let sealedSetup = try channel.seal(setup)
            let sealedIce = try channel.seal(ice)
            let head = #"{"type":"signal","to":"\#(to.participant.rawValue)","senderKeyId":"\#(channel.ownKeyID)","#
                + #""recipientKeyId":"\#(channel.peerKeyID)","nonce":""#
            return Side(
                head: head, nonceTail: Base64URL.encode(Random.bytes(15)),
                setupTail: #"","box":"\#(sealedSetup.box)"}"#, iceTail: #"","box":"\#(sealedIce.box)"}"#,
                sealedSetup: sealedSetup, sealedIce: sealedIce)
        }
        return (try side(offerer.keys, to: answerer, setup: offer), try side(answerer.keys, to: offerer, setup: answer))
    }

    /// Both sides of a room that exists only for the ceiling or SaltyRTC: fresh
    /// keys and ids of Samrom's lengths, so their frames are byte for byte as long.
    func standaloneSides() throws -> (Side, Side) {
        try sides(
            consultation: .random(), offerer: (.random(), .generate()), answerer: (.random(), .generate()))
    }

    /// How many bytes a sealed box of `payload` is: sodium_pad to 256, the tag, base64url.
    static func boxCharacters(_ payload: SignalPayload) throws -> Int {
        let padded = (try payload.json().count / SealedSignal.paddingBlock + 1) * SealedSignal.paddingBlock
        return ((padded + XChaCha20Poly1305.tagLength) * 4 + 2) / 3
    }

    // MARK: The send time in the nonce

    /// The nonce's first 9 bytes, base64url (12 characters): 0x00, then `nanos` big-endian.
    static func stamp(_ nanos: UInt64) -> String {
        var bytes: [UInt8] = [0]
        withUnsafeBytes(of: nanos.bigEndian) { bytes += $0 }
        return Base64URL.encode(bytes)
    }

    private static let marker = Array(#""nonce":""#.utf8)

    /// The send time in a relayed frame, nil if it carries none. The nonce is
    /// near the start of a frame as the client wrote it (the ceiling and
    /// SaltyRTC pass it on as it is), near the end of one Samrom re-encoded
    /// with sorted keys: both ends are searched first.
    static func timestamp(in bytes: some Collection<UInt8>) -> UInt64? {
        let array = Array(bytes)
        return array.withUnsafeBufferPointer { buffer -> UInt64? in
            let count = buffer.count
            guard count >= marker.count + 12 else { return nil }
            func matches(at i: Int) -> Bool {
                guard i + marker.count + 12 <= count else { return false }
                for j in 0..<marker.count where buffer[i + j] != marker[j] { return false }
                return true
            }
            let last = count - marker.count - 12
            var found: Int?
            // Forwards through the first 512 bytes, backwards through the last 512, then the rest.
            for i in 0...min(last, 512) where matches(at: i) {
                found = i
                break
            }
            if found == nil {
                for i in stride(from: last, through: max(0, last - 512), by: -1) where matches(at: i) {
                    found = i
                    break
                }
            }
            if found == nil, last > 1024 {
                for i in 512..<(last - 512) where matches(at: i) {
                    found = i
                    break
                }
            }
            guard let start = found.map({ $0 + marker.count }) else { return nil }
            // 12 base64url characters = 9 bytes: the zero marker, then 8 bytes of nanoseconds.
            var value: UInt64 = 0
            for k in 0..<12 {
                guard let sextet = sextet(buffer[start + k]) else { return nil }
                value = value << 6 | UInt64(sextet)
                if k == 1, value >> 4 != 0 { return nil }  // the marker byte (first 8 bits of 72) must be zero
            }
            return value
        }
    }

    private static func sextet(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): c - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): c - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0") + 52
        case UInt8(ascii: "-"): 62
        case UInt8(ascii: "_"): 63
        default: nil
        }
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
}
