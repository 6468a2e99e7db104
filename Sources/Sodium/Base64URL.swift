import CSodium

/// URL-safe base64 without padding (RFC 4648 §5), through libsodium's
/// constant-time codec (`sodium_bin2base64` / `sodium_base642bin`).
public enum Base64URL {
    public static func encode(_ bytes: some ContiguousBytes) -> String {
        Sodium.ready()
        return bytes.withUnsafeBytes { raw in
            let variant = Int32(sodium_base64_VARIANT_URLSAFE_NO_PADDING)
            let length = sodium_base64_encoded_len(raw.count, variant)
            var out = [CChar](repeating: 0, count: length)
            out.withUnsafeMutableBufferPointer { buffer in
                _ = sodium_bin2base64(buffer.baseAddress!, length, raw.u8, raw.count, variant)
            }
            return String(decoding: out.prefix(length - 1).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// Decodes strictly: any character outside the URL-safe alphabet, padding,
    /// or trailing garbage is an error.
    public static func decode(_ text: String) throws -> [UInt8] {
        Sodium.ready()
        // libsodium 1.0.18 takes every byte from 0x80 up as a base64
        // character (found by scripts/fuzz.sh): the alphabet is checked here.
        guard isAlphabet(text) else { throw SodiumError(.invalidEncoding, "not base64url without padding") }
        let input = Array(text.utf8)
        let variant = Int32(sodium_base64_VARIANT_URLSAFE_NO_PADDING)
        var out = [UInt8](repeating: 0, count: input.count * 3 / 4 + 3)
        var written = 0
        let status = input.withUnsafeBytes { inBuf in
            out.withUnsafeMutableBufferPointer { outBuf in
                sodium_base642bin(outBuf.nonNull, outBuf.count, inBuf.cchar, inBuf.count, nil, &written, nil, variant)
            }
        }
        guard status == 0 else { throw SodiumError(.invalidEncoding, "not base64url without padding") }
        return Array(out.prefix(written))
    }

    /// Decodes and checks the decoded length.
    public static func decode(_ text: String, length: Int) throws -> [UInt8] {
        let bytes = try decode(text)
        guard bytes.count == length else {
            throw SodiumError(.invalidLength, "expected \(length) bytes, got \(bytes.count)")
        }
        return bytes
    }

    /// Whether every byte of `text` is in the URL-safe alphabet: one pass
    /// over its contiguous UTF-8, for checking large sealed boxes without
    /// decoding them (a per-character walk costs several times as much).
    public static func isAlphabet(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            for byte in bytes where !isAlphabet(byte) { return false }
            return true
        }
    }

    /// Whether a byte is in the URL-safe alphabet (A–Z, a–z, 0–9, '-', '_').
    public static func isAlphabet(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default: false
        }
    }
}
