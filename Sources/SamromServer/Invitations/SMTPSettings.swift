import Foundation

/// Where and how invitations are sent by e-mail: an SMTP submission server
/// that offers STARTTLS (mail is never sent in clear), its certificate
/// verified against `trustRoots` for `host`.
public struct SMTPSettings: Sendable {
    /// Which certificate authorities the SMTP server's certificate must chain to.
    public enum TrustRoots: Sendable, Equatable {
        /// The system's (NIOSSL's default: the platform's CA bundle).
        case system
        /// The CA certificates (PEM) in this file only.
        case caFile(String)
    }

    /// The server's name (or IP address): connected to, and what its certificate must name.
    public var host: String
    /// 587 (submission) as a rule; 25 works too. Never implicit TLS (465): STARTTLS only.
    public var port: Int
    /// The envelope sender and the header From address.
    public var from: String
    /// AUTH PLAIN after STARTTLS when both are set.
    public var username: String?
    public var password: String?
    /// The name given in EHLO.
    public var heloName: String
    public var trustRoots: TrustRoots
    /// For the whole exchange, from connecting to QUIT.
    public var timeout: Duration

    public init(
        host: String, port: Int = 587, from: String, username: String? = nil, password: String? = nil,
        heloName: String = "localhost", trustRoots: TrustRoots = .system, timeout: Duration = .seconds(30)
    ) {
        self.host = host
        self.port = port
        self.from = from
        self.username = username
        self.password = password
        self.heloName = heloName
        self.trustRoots = trustRoots
        self.timeout = timeout
    }
}

/// One plain-text e-mail to one recipient. Nothing in it is ever logged.
public struct OutgoingMail: Sendable {
    public var to: String
    /// Any text without control characters (a CR or LF would start a new header):
    /// non-ASCII is sent as RFC 2047 encoded words.
    public var subject: String
    /// Plain text, UTF-8; any line endings (sent as CRLF, quoted-printable).
    public var body: String

    public init(to: String, subject: String, body: String) {
        self.to = to
        self.subject = subject
        self.body = body
    }

    /// Whether `address` is one plain e-mail address, `local@domain`, that can
    /// go into an SMTP envelope and a header as it is: ASCII, at most 254
    /// bytes, a dot-atom local part (at most 64 bytes) and a domain of at
    /// least two labels of letters, digits and hyphens. Nothing that could end
    /// or add a header or a recipient gets through: no spaces, control
    /// characters, CR, LF, angle brackets, commas, quotes, parentheses,
    /// colons, semicolons or backslashes. (An internationalized domain goes in
    /// its ASCII, `xn--`, form.)
    public static func isPlausibleAddress(_ address: String) -> Bool {
        let bytes = Array(address.utf8)
        guard (6...254).contains(bytes.count), bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return false }
        let parts = bytes.split(separator: UInt8(ascii: "@"), omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        let local = parts[0]
        let domain = parts[1]
        // The local part: a dot-atom (RFC 5322 §3.2.3), never quoted.
        let atext = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-".utf8)
        guard (1...64).contains(local.count) else { return false }
        let atoms = local.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard atoms.allSatisfy({ !$0.isEmpty && $0.allSatisfy(atext.contains) }) else { return false }
        // The domain: LDH labels of 1 to 63 bytes, at least two of them.
        let ldh = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-".utf8)
        guard (1...253).contains(domain.count) else { return false }
        let labels = domain.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return false }
        return labels.allSatisfy { label in
            (1...63).contains(label.count) && label.allSatisfy(ldh.contains) && label.first != UInt8(ascii: "-")
                && label.last != UInt8(ascii: "-")
        }
    }

    /// Whether `subject` can be a Subject header: no control characters at
    /// all (CR and LF among them), at most 500 characters.
    public static func isSafeSubject(_ subject: String) -> Bool {
        subject.count <= 500 && subject.unicodeScalars.allSatisfy { !($0.value < 0x20 || (0x7F...0x9F).contains($0.value)) }
            && !subject.unicodeScalars.contains { $0 == "\u{2028}" || $0 == "\u{2029}" }
    }
}

/// Why a mail was not sent. `message` never holds an address, the subject,
/// the body or the server's reply text (which may quote the address).
public struct SMTPFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// The mail was refused before connecting: an implausible address
        /// (to, or the settings' from), a subject with control characters,
        /// or an EHLO name that is not a host name.
        case invalidMail
        /// No connection: refused, no route, the name not found.
        case unreachable
        /// The server does not offer STARTTLS (or refused it): nothing is sent in clear.
        case noStartTLS
        /// The TLS handshake failed: an untrusted certificate, a wrong name, no common version.
        case tls
        /// The server answered with this 4xx or 5xx reply code.
        case refused(Int)
        /// The whole exchange took longer than `SMTPSettings.timeout`.
        case timeout
        /// The server said something that is not SMTP, or closed the connection.
        case protocolError
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "SMTP: \(message)" }
}
