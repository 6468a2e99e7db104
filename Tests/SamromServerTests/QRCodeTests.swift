import Foundation
import SamromCore
import SamromTestSupport
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

@testable import SamromServer

/// The enrolment QR code read back by a real decoder: `rsvg-convert` renders
/// our SVG to PNG and zbar's `zbarimg` decodes it, so the test checks what a
/// phone's camera would see, not our own idea of the symbol.
@Suite struct QRCodeTests {
    @Test func anOtpauthURLRoundTripsThroughARealDecoder() async throws {
        let url = TOTPSecret.random().otpauthURL(issuer: "Samrom NAV", username: "kari.nordmann")
        #expect(url.utf8.count > 100)
        let code = try QRCode(url)
        #expect(try await Self.decode(code.svg(label: "QR code for your authenticator app")) == url)
    }

    @Test(arguments: [
        "A",
        "Hello, World! mixed CASE 0123456789 $%*+-./:",
        "Blåbærsyltetøy på smørbrød — Æøå, 日本語, emoji 🔐",
        "a NUL \u{0} inside",
        String(repeating: "0123456789abcdef", count: 40),
    ])
    func textsRoundTripThroughARealDecoder(_ text: String) async throws {
        let code = try QRCode(text)
        #expect(try await Self.decode(code.svg(moduleSize: 3, label: "test")) == text)
    }

    @Test func tooLongInputThrowsAndTheLongestFits() throws {
        let longest = try QRCode(String(repeating: "a", count: QRCode.maximumBytes))
        #expect(longest.size == 177)
        let oneMore = #expect(throws: QRCode.Failure.self) { try QRCode(String(repeating: "a", count: QRCode.maximumBytes + 1)) }
        #expect(oneMore?.code == .tooLong)
        // 4,000 UTF-8 bytes in 2,000 characters: the bound is on bytes.
        let utf8 = #expect(throws: QRCode.Failure.self) { try QRCode(String(repeating: "ø", count: 2000)) }
        #expect(utf8?.code == .tooLong)
        let empty = #expect(throws: QRCode.Failure.self) { try QRCode("") }
        #expect(empty?.code == .failed)
    }

    @Test func theSVGIsPlainXMLWithNothingActive() throws {
        let code = try QRCode("otpauth://totp/Samrom:kari?secret=JBSWY3DPEHPK3PXP&issuer=Samrom")
        let svg = code.svg(label: "QR code for your authenticator app")
        let lowercased = svg.lowercased()
        #expect(!lowercased.contains("<script"))
        #expect(!lowercased.contains("href"))
        let parsed = try Self.parse(svg)
        #expect(parsed.elements == ["svg", "rect", "path"])
        #expect(parsed.attributes["svg"]?["role"] == "img")
        #expect(parsed.attributes["svg"]?["aria-label"] == "QR code for your authenticator app")
        let side = code.size + 8
        #expect(parsed.attributes["svg"]?["viewBox"] == "0 0 \(side) \(side)")
        // Every dark module, and no light one, is in the path.
        let drawn = parsed.attributes["path"]?["d"].map(Self.darkModules) ?? []
        let same = drawn == Self.darkModules(of: code)
        #expect(same, "the path draws \(drawn.count) modules")
    }

    @Test func aHostileLabelStaysOneAttribute() throws {
        let label = "\"><script>alert('x')</script><a href=\"//evil\"> & \u{1}\n"
        let parsed = try Self.parse(try QRCode("x").svg(label: label))
        #expect(parsed.elements == ["svg", "rect", "path"])
        #expect(parsed.attributes["svg"]?["aria-label"] == "\"><script>alert('x')</script><a href=\"//evil\"> &   ")
    }

    // MARK: Helpers

    final class SVGReader: NSObject, XMLParserDelegate {
        var elements: [String] = []
        var attributes: [String: [String: String]] = [:]

        func parser(
            _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String]
        ) {
            elements.append(name)
            self.attributes[name] = attributes
        }
    }

    static func parse(_ svg: String) throws -> SVGReader {
        let reader = SVGReader()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = reader
        guard parser.parse() else { throw ToolFailed(description: "not XML: \(parser.parserError.map { "\($0)" } ?? "")") }
        return reader
    }

    struct Point: Hashable { let x: Int, y: Int }

    static func darkModules(of code: QRCode) -> Set<Point> {
        var dark: Set<Point> = []
        for y in 0..<code.size { for x in 0..<code.size where code.isDark(x, y) { dark.insert(Point(x: x + 4, y: y + 4)) } }
        return dark
    }

    /// The modules covered by a path of `Mx yhNv1h-Nz` runs.
    static func darkModules(_ d: String) -> Set<Point> {
        var dark: Set<Point> = []
        for run in d.split(separator: "z") {
            let numbers = run.split(whereSeparator: { "Mhv ".contains($0) }).compactMap { Int($0) }
            guard numbers.count == 5, numbers[3] == 1, numbers[4] == -numbers[2] else { return [] }
            for x in numbers[0]..<(numbers[0] + numbers[2]) { dark.insert(Point(x: x, y: numbers[1])) }
        }
        return dark
    }

    /// Renders `svg` with rsvg-convert and returns what zbarimg reads in it.
    static func decode(_ svg: String) async throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("samrom-qr-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let svgFile = directory.appendingPathComponent("code.svg"), pngFile = directory.appendingPathComponent("code.png")
        try Data(svg.utf8).write(to: svgFile)
        _ = try await run("rsvg-convert", ["--format", "png", "--output", pngFile.path, svgFile.path])
        // -Sbinary: the bytes as encoded, not re-guessed into another charset.
        let output = try await run("zbarimg", ["--raw", "-q", "-Sbinary", pngFile.path])
        return String(decoding: output, as: UTF8.self)
    }

    struct ToolFailed: Error, CustomStringConvertible { let description: String }

    static func run(_ tool: String, _ arguments: [String]) async throws -> Data {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
            .map { "\($0)/\(tool)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        let executable = try #require(path, "\(tool) is not on PATH: run scripts/install-deps.sh (zbar-tools, librsvg2-bin)")
        let result = try await Command.run(executable, arguments)
        guard result.status == 0 else {
            throw ToolFailed(description: "\(tool) exited \(result.status): \(result.error)")
        }
        return result.data
    }
}
