import Foundation

/// The signalling traffic of a call setup and its ICE trickle, in the exact
/// shapes the browsers send: one offer or answer (~3 KB of SDP) for every
/// nine ICE candidates (~250 B). Each frame carries its send time in a place
/// the real message has a number: the SDP origin's session id, the
/// candidate's foundation. Receivers read it back without parsing JSON.
struct RelayTraffic: Sendable {
    private let offer: (prefix: String, suffix: String)
    private let answer: (prefix: String, suffix: String)
    private let ice: (prefix: String, suffix: String)

    init() {
        var sdp = "v=0\r\no=- TIMESTAMP 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\na=extmap-allow-mixed\r\n"
        sdp += "a=msid-semantic: WMS 6f0c2b1e-9d7a-4c43-9a8e-2f5d1c3b7a90\r\n"
        var line = 0
        while sdp.utf8.count < 3000 {
            line += 1
            sdp += "a=rtpmap:\(96 + line % 32) VP8/90000\r\na=rtcp-fb:\(96 + line % 32) nack pli\r\na=fmtp:\(96 + line % 32) apt=\(line)\r\n"
        }
        func template(_ object: [String: Any]) -> (String, String) {
            let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            let text = String(decoding: data, as: UTF8.self)
            let range = text.range(of: "TIMESTAMP")!
            return (String(text[..<range.lowerBound]), String(text[range.upperBound...]))
        }
        offer = template(["type": "offer", "sdp": sdp])
        answer = template(["type": "answer", "sdp": sdp])
        ice = template([
            "type": "ice",
            "candidate": [
                "candidate": "candidate:TIMESTAMP 1 udp 2122260223 192.168.1.23 54321 typ host generation 0 ufrag Xy9k network-id 1",
                "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": "Xy9k",
            ] as [String: Any],
        ])
    }

    /// Frame `index` of a sender (`first` is the side that offers), stamped with `nanos`.
    func frame(_ index: Int, first: Bool, nanos: UInt64) -> String {
        let parts = index % 10 == 0 ? (first ? offer : answer) : ice
        return parts.prefix + String(nanos) + parts.suffix
    }

    /// The send time in a relayed frame, nil if it carries none.
    static func timestamp(in bytes: some Collection<UInt8>) -> UInt64? {
        // After "o=- " (SDP origin) or "candidate:" (ICE foundation).
        let markers: [[UInt8]] = [Array("o=- ".utf8), Array("candidate:".utf8)]
        let array = Array(bytes)
        return array.withUnsafeBufferPointer { buffer -> UInt64? in
            var i = 0
            while i < buffer.count {
                for marker in markers where buffer.count - i > marker.count && buffer[i] == marker[0] {
                    var matches = true
                    for j in 1..<marker.count where buffer[i + j] != marker[j] {
                        matches = false
                        break
                    }
                    guard matches else { continue }
                    var value: UInt64 = 0
                    var k = i + marker.count
                    var digits = 0
                    while k < buffer.count, buffer[k] >= 48, buffer[k] <= 57, digits < 20 {
                        value = value &* 10 &+ UInt64(buffer[k] - 48)
                        k += 1
                        digits += 1
                    }
                    if digits > 0 { return value }
                }
                i += 1
            }
            return nil
        }
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
}
