// libqrencode (C) because a QR encoder is Reed–Solomon codes, eight masks and
// their penalty scores, and forty versions of layout tables: a well-used library
// we link against beats our own copy, and it runs here, so the TOTP secret in
// the otpauth URL never goes to a third party to be drawn (issue 15).
import CQRencode
import Foundation

/// A QR code for an authenticator app to scan: the otpauth URL of TOTP
/// enrolment, drawn as an inline SVG on the enrolment page.
///
/// Error correction M (15 % of the symbol may be lost), the smallest version
/// that fits, and every byte in 8-bit mode, so the text comes back exactly as
/// given (case and UTF-8 included).
struct QRCode: Sendable, Equatable {
    /// Why a text could not be encoded.
    struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// Stable identifier, compared by tests.
        enum Code: String, Sendable {
            case tooLong = "too-long"
            case outOfMemory = "out-of-memory"
            case failed = "failed"
        }

        let code: Code
        let reason: String

        init(_ code: Code, _ reason: String) {
            self.code = code
            self.reason = reason
        }

        var description: String { "\(code.rawValue): \(reason)" }
    }

    /// The most bytes a QR code holds at level M: version 40 in 8-bit mode.
    /// Checked before calling C, so a long text never reaches libqrencode.
    static let maximumBytes = 2331

    /// Modules per side (21 for version 1, up to 177 for version 40), without
    /// the quiet zone.
    let size: Int

    /// Row by row, `true` for a dark module.
    private let modules: [Bool]

    /// Encodes the UTF-8 bytes of `text`.
    init(_ text: String) throws(Failure) {
        let bytes = Array(text.utf8)
        guard bytes.count <= Self.maximumBytes else {
            throw Failure(.tooLong, "\(bytes.count) bytes; a QR code holds at most \(Self.maximumBytes)")
        }
        guard !bytes.isEmpty else { throw Failure(.failed, "nothing to encode") }
        // QRcode_encodeData, the 8-bit call that takes a length: a NUL in the
        // text is encoded rather than ending it early, as encodeString8bit would.
        errno = 0
        let encoded = bytes.withUnsafeBufferPointer { buffer in
            QRcode_encodeData(Int32(buffer.count), buffer.baseAddress, 0, QR_ECLEVEL_M)
        }
        let error = errno
        guard let encoded else {
            switch error {
            case ERANGE: throw Failure(.tooLong, "\(bytes.count) bytes do not fit in a QR code")
            case ENOMEM: throw Failure(.outOfMemory, "libqrencode could not allocate memory")
            default: throw Failure(.failed, "libqrencode failed (errno \(error))")
            }
        }
        // Copied out and freed at once: nothing keeps C memory alive.
        defer { QRcode_free(encoded) }
        let width = Int(encoded.pointee.width)
        guard width > 0, let data = encoded.pointee.data else { throw Failure(.failed, "libqrencode returned no symbol") }
        // Bit 0 of each byte is the module's colour; the others say what the
        // module is for (finder, timing, data…).
        size = width
        modules = UnsafeBufferPointer(start: data, count: width * width).map { $0 & 1 != 0 }
    }

    /// Whether the module at column `x`, row `y` is dark; outside the symbol
    /// (the quiet zone) it is light.
    func isDark(_ x: Int, _ y: Int) -> Bool {
        guard (0..<size).contains(x), (0..<size).contains(y) else { return false }
        return modules[y * size + x]
    }

    /// The code as a standalone SVG document, also valid inline in HTML.
    ///
    /// One `<path>` of horizontal runs on a white background with the 4-module
    /// quiet zone scanners need; no script, no link, no style sheet, so the
    /// page's CSP need not allow anything for it. `label` is the only text
    /// taken in (as `aria-label`, for screen readers), XML-escaped.
    /// `moduleSize` is pixels per module, kept within 1...64.
    func svg(moduleSize: Int = 4, label: String) -> String {
        let quiet = 4
        let side = size + 2 * quiet
        let pixels = side * min(max(moduleSize, 1), 64)
        var d = ""
        for y in 0..<size {
            var x = 0
            while x < size {
                guard isDark(x, y) else {
                    x += 1
                    continue
                }
                let start = x
                while x < size, isDark(x, y) { x += 1 }
                let run = x - start
                d += "M\(start + quiet) \(y + quiet)h\(run)v1h-\(run)z"
            }
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(pixels)" height="\(pixels)" \
            viewBox="0 0 \(side) \(side)" role="img" aria-label="\(Self.escaped(label))">\
            <rect width="\(side)" height="\(side)" fill="#fff"/>\
            <path fill="#000" shape-rendering="crispEdges" d="\(d)"/></svg>
            """
    }

    /// Text for an XML attribute in double quotes. Characters XML 1.0 does not
    /// allow at all (most C0 controls, U+FFFE, U+FFFF) become spaces, as do
    /// tab and line breaks, which an attribute would turn into spaces anyway.
    static func escaped(_ text: String) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF: out += " "
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
