import Foundation
import GRDB
import SamromCore
import SamromServer
import SamromStore
import Testing

/// docs/municipality/ is written from the code; these keep its checkable
/// facts true: retention periods and ranges, what is stored (every table),
/// ports, and the cryptography. A change to one of them fails here until the
/// documents a personvernombud adopts say the same.
@Suite struct MunicipalityDocTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func document(_ name: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent("docs/municipality/\(name)"), encoding: .utf8)
    }

    /// The row of a Markdown table that begins with `| first`.
    static func row(_ document: String, _ first: String) throws -> String {
        try #require(document.split(separator: "\n").first { $0.hasPrefix("| \(first)") }.map(String.init), "no row «\(first)»")
    }

    static func days(_ interval: TimeInterval) -> Int { Int(interval / 86_400) }

    @Test func retentionPeriodsAreTheCodesDefaultsAndRanges() throws {
        let text = try Self.document("behandlingsbeskrivelse.md")
        let defaults = ServerConfiguration()
        let chat = try Self.row(text, "Chat (krypterte kopier)")
        let chatRange = ServerConfiguration.chatRetentionDaysRange
        #expect(chat.contains("**\(Self.days(defaults.chatRetention)) dager**"), "\(chat)")
        #expect(chat.contains("`--chat-retention-days` (\(chatRange.lowerBound)–\(chatRange.upperBound))"), "\(chat)")
        let audit = try Self.row(text, "Innhold i tilgangsloggen")
        let auditRange = ServerConfiguration.auditRetentionDaysRange
        #expect(audit.contains("**\(Self.days(defaults.auditRetention)) dager**"), "\(audit)")
        #expect(audit.contains("`--audit-retention-days` (\(auditRange.lowerBound)–\(auditRange.upperBound))"), "\(audit)")
        let session = try Self.row(text, "Innloggingsøkt | utløper")
        #expect(session.contains("**\(Int(defaults.sessionIdleTimeout / 3600)) timer** uten bruk"), "\(session)")
        #expect(session.contains("**\(Int(defaults.sessionLifetime / 3600)) timer** totalt"), "\(session)")
        let pending = try Self.row(text, "Innlogging som venter på annen faktor")
        #expect(pending.contains("**\(Int(defaults.secondFactor.pendingLifetime / 60)) minutter**"), "\(pending)")
        let seat = try Self.row(text, "Plass i en samtale")
        #expect(seat.contains("**\(Int(defaults.room.resumeGrace / 60)) minutter**"), "\(seat)")
        let link = try Self.row(text, "Lenke | gyldig")
        #expect(link.contains("**\(Consultation.defaultValidDays) dager** som standard"), "\(link)")
        #expect(link.contains("høyst **\(Consultation.validDaysRange.upperBound) dager**"), "\(link)")

        // The operations guide and the DPIA say the same defaults.
        let drift = try Self.document("drift.md")
        #expect(drift.contains("--chat-retention-days \(Self.days(defaults.chatRetention))"))
        #expect(drift.contains("--audit-retention-days \(Self.days(defaults.auditRetention))"))
        #expect(drift.contains("standard \(Self.days(defaults.chatRetention)) og \(Self.days(defaults.auditRetention))"))
    }

    /// Every table of a fresh database is named in the description of the
    /// processing, so nothing new is stored without the documents saying so.
    @Test func everyTableTheServerMakesIsDescribed() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("samrom-doc-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try SQLiteStore(directory: directory)
        let queue = try DatabaseQueue(path: directory.appendingPathComponent("samrom.sqlite").path)
        let tables = try await queue.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'grdb_%'")
        }
        #expect(tables.count >= 10, "\(tables)")
        let text = try Self.document("behandlingsbeskrivelse.md")
        let section = try #require(text.range(of: "#### Tabellene i databasen").map { String(text[$0.upperBound...]) })
        for table in tables {
            #expect(section.contains("`\(table)`"), "the table \(table) is not described in behandlingsbeskrivelse.md")
        }
    }

    @Test func portsAreTheDefaults() throws {
        let drift = try Self.document("drift.md")
        let defaults = ServerConfiguration()
        #expect(drift.contains("(`--port`, standard `\(defaults.port)`, på `--host`, standard `\(defaults.host)`)"))
        #expect(drift.contains("`--port` (standard \(defaults.port);"))
        let smtp = SMTPSettings(host: "smtp.kommune.example", from: "a@kommune.example")
        #expect(drift.contains("`--smtp-port`, standard \(smtp.port)"))
    }

    /// The cryptography the documents name is the one the code calls:
    /// each name beside the libsodium (or TLS) symbol that does it.
    @Test func theCryptographyNamedIsTheOneUsed() throws {
        let documents = try ["behandlingsbeskrivelse.md", "dpia-grunnlag.md"].map(Self.document).joined()
        let uses: [(name: String, file: String, symbol: String)] = [
            ("XChaCha20-Poly1305", "Sources/Sodium/XChaCha20Poly1305.swift", "crypto_aead_xchacha20poly1305_ietf_encrypt"),
            ("X25519", "Sources/Sodium/KeyExchange.swift", "crypto_kx_client_session_keys"),
            ("Ed25519", "Sources/Sodium/Ed25519.swift", "crypto_sign_detached"),
            ("Argon2id", "Sources/Sodium/PasswordHash.swift", "crypto_pwhash_ALG_ARGON2ID13"),
            ("BLAKE2b", "Sources/Sodium/GenericHash.swift", "crypto_generichash"),
            ("TLS 1.2 og 1.3", "Sources/SamromServer/TLS/TLSSetup.swift", "tls.minimumTLSVersion = .tlsv12"),
            ("DTLS-SRTP", "Web/lib/rtc.js", "RTCPeerConnection"),
        ]
        for use in uses {
            #expect(documents.contains(use.name), "the documents do not name \(use.name)")
            let source = try String(contentsOf: Self.root.appendingPathComponent(use.file), encoding: .utf8)
            #expect(source.contains(use.symbol), "\(use.file) no longer uses \(use.symbol) (\(use.name))")
        }
    }
}
