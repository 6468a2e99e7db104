import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SamromTestSupport

/// A real OpenID Connect provider for one test: oidc-provider-mock from
/// PyPI (Tests/OIDC/provider.py) over HTTPS on 127.0.0.1 with the tests'
/// certificate, its users given as claims. `make test` installs it in
/// .build/oidc-venv (`make oidc-venv`, scripts/venv.sh).
final class OpenIDProvider: Sendable {
    static let python = LiveServer.repositoryRoot.appendingPathComponent(".build/oidc-venv/bin/python").path

    let child: ChildProcess
    let port: Int
    var issuer: String { "https://127.0.0.1:\(port)" }

    private init(child: ChildProcess, port: Int) {
        self.child = child
        self.port = port
    }

    /// `users`: each a `sub` and the claims its ID tokens carry.
    static func start(users: [[String: String]], tokenMaxAge: Int = 3600) async throws -> OpenIDProvider {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw TestFailure("no OpenID Connect provider at \(python): run `make oidc-venv` (scripts/venv.sh)")
        }
        let users = String(decoding: try JSONSerialization.data(withJSONObject: users), as: UTF8.self)
        let log = LiveServer.temporaryDirectory().appendingPathExtension("oidc.log")
        let child = try ChildProcess(
            python,
            [
                LiveServer.repositoryRoot.appendingPathComponent("Tests/OIDC/provider.py").path,
                TestCertificates.directory.appendingPathComponent("server.crt").path,
                TestCertificates.directory.appendingPathComponent("server.key").path, users, String(tokenMaxAge),
            ], log: log)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let line = child.log.split(separator: "\n").first(where: { $0.hasPrefix("listening ") }),
                let port = Int(line.dropFirst("listening ".count))
            {
                return OpenIDProvider(child: child, port: port)
            }
            guard child.isRunning else { throw TestFailure("the OpenID Connect provider exited: \(child.logTail())") }
            try await Task.sleep(for: .milliseconds(50))
        }
        await child.kill()
        throw TestFailure("the OpenID Connect provider did not start: \(child.logTail())")
    }

    func stop() async { await child.kill() }

    /// A provider for `body`, stopped however it ends.
    static func with<T>(users: [[String: String]], tokenMaxAge: Int = 3600, _ body: (OpenIDProvider) async throws -> T) async throws -> T {
        let provider = try await start(users: users, tokenMaxAge: tokenMaxAge)
        do {
            let result = try await body(provider)
            await provider.stop()
            return result
        } catch {
            await provider.stop()
            throw error
        }
    }

    /// What a person does at the provider: picks the user (`sub`) on its
    /// authorization page. Answers the provider's redirect back.
    func authorize(_ url: String, as sub: String) async throws -> String {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: "sub=" + (sub.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")))
        let response = try await OpenIDProvider.http.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 20)
        guard (300..<400).contains(response.status.code), let location = response.headers.first(name: "Location") else {
            throw TestFailure("the provider did not redirect back (\(response.status.code))")
        }
        return location
    }

    /// An ID token for any client, as that client would get it: the
    /// authorization request, the user's choice and the token request.
    func idToken(clientID: String, nonce: String, as sub: String) async throws -> String {
        let redirect = "https://127.0.0.1:1/callback"
        let query = [
            ("response_type", "code"), ("client_id", clientID), ("redirect_uri", redirect), ("scope", "openid email"),
            ("state", "s"), ("nonce", nonce),
        ].map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" }.joined(separator: "&")
        let back = try await authorize(issuer + "/oauth2/authorize?" + query, as: sub)
        guard let code = URLComponents(string: back)?.queryItems?.first(where: { $0.name == "code" })?.value else {
            throw TestFailure("no code in \(back)")
        }
        var request = HTTPClientRequest(url: issuer + "/oauth2/token")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Authorization", value: "Basic " + Data("\(clientID):secret".utf8).base64EncodedString())
        let body = "grant_type=authorization_code&code=\(code)&redirect_uri=\(redirect.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)"
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await OpenIDProvider.http.execute(request, timeout: .seconds(30))
        let data = Data(try await response.body.collect(upTo: 1 << 20).readableBytesView)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any], let token = object["id_token"] as? String else {
            throw TestFailure("no id_token: \(String(decoding: data, as: UTF8.self))")
        }
        return token
    }

    /// A client that trusts the tests' CA and never follows redirects, so
    /// each step of the flow is seen.
    static let http = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: .init(tlsConfiguration: TestCertificates.clientConfiguration, redirectConfiguration: .disallow))
}
