import Foundation
import SamromCore

/// Where a `PostgresStore` connects, read from a `postgres://user[:password]@host[:port]/database`
/// URL (`postgresql://` too). The only parameter is `sslmode`: `disable`,
/// `prefer` (the default, as libpq's) or `require`.
struct PostgresURL: Sendable, Equatable {
    enum TLSMode: String, Sendable {
        case disable, prefer, require
    }

    var host: String
    var port: Int
    var username: String
    var password: String?
    var database: String
    var tls: TLSMode

    init(_ text: String) throws(StorageError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw StorageError(.unavailable, "not a PostgreSQL URL (postgres://user@host:port/database)")
        }
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw StorageError(.unavailable, "a PostgreSQL URL starts with postgres://, not \(scheme)://")
        }
        var host = components.host ?? ""
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw StorageError(.unavailable, "the PostgreSQL URL names no host") }
        guard let username = components.user, !username.isEmpty else {
            throw StorageError(.unavailable, "the PostgreSQL URL names no user (postgres://user@\(host)/database)")
        }
        if let port = components.port, !(1...65535).contains(port) {
            throw StorageError(.unavailable, "the PostgreSQL URL's port \(port) is out of range")
        }
        var database = components.path
        if database.hasPrefix("/") { database.removeFirst() }
        guard !database.contains("/") else { throw StorageError(.unavailable, "the PostgreSQL URL's path must be one database name") }
        var tls = TLSMode.prefer
        for item in components.queryItems ?? [] {
            guard item.name == "sslmode" else {
                throw StorageError(.unavailable, "the PostgreSQL URL has an unknown parameter \"\(item.name)\" (only sslmode)")
            }
            guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                throw StorageError(.unavailable, "sslmode must be disable, prefer or require")
            }
            tls = mode
        }
        self.host = host
        self.port = components.port ?? 5432
        self.username = username
        self.password = components.password
        self.database = database.isEmpty ? username : database
        self.tls = tls
    }

    /// The URL without its password: for logs and error messages.
    var redacted: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(username)@\(shownHost):\(port)/\(database)"
    }
}
