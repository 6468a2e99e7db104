import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOSSL
import NIOWebSocket
import SamromCore
import Synchronization

/// A real WebSocket client over TLS that speaks Samrom's protocol as a test
/// DSL: `send`, `expect(type)`, `expectSilence`, `closeCode`.
public final class WSTestClient: Sendable {
    public typealias Message = [String: JSONValue]

    private enum Outgoing: Sendable { case text(String), close }

    private struct State {
        var received: [String] = []
        var opened = false
        var finished = false
        var closeCode: WebSocketErrorCode?
        var failure: String?
    }

    private final class Box: Sendable {
        let mutex = Mutex(State())
        func withLock<R: Sendable>(_ body: (inout State) -> R) -> R { mutex.withLock { body(&$0) } }
    }

    private let state = Box()
    private let outgoing: AsyncStream<Outgoing>.Continuation
    private let task: Task<Void, Never>

    /// Connects to `/ws` and waits for the upgrade; throws if it is refused.
    /// To any Samrom on loopback, e.g. a `samrom serve` process.
    public static func connect(
        port: Int, tls: TLSConfiguration, cookie: String? = nil, origin: String? = nil, path: String = "/ws"
    ) async throws -> WSTestClient {
        var headers = HTTPFields()
        if let cookie { headers[.cookie] = cookie }
        if let origin { headers[.origin] = origin }
        let client = WSTestClient(url: "wss://localhost:\(port)\(path)", headers: headers, tls: tls)
        try await client.waitUntilOpen()
        return client
    }

    private init(url: String, headers: HTTPFields, tls: TLSConfiguration) {
        let (stream, continuation) = AsyncStream<Outgoing>.makeStream()
        outgoing = continuation
        let state = self.state
        var logger = Logger(label: "ws-test-client")
        logger.logLevel = .critical
        let client = WebSocketClient(
            url: url, configuration: .init(maxFrameSize: 1 << 20, additionalHeaders: headers), tlsConfiguration: tls, logger: logger
        ) { inbound, outbound, _ in
            state.withLock { $0.opened = true }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await item in stream {
                        switch item {
                        case .text(let text): try await outbound.write(.text(text))
                        case .close:
                            try await outbound.close(.normalClosure, reason: nil)
                            return
                        }
                    }
                }
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    if case .text(let text) = message { state.withLock { $0.received.append(text) } }
                }
                group.cancelAll()
            }
        }
        task = Task {
            do {
                let frame = try await client.run()
                state.withLock {
                    $0.closeCode = frame?.closeCode
                    $0.finished = true
                }
            } catch {
                state.withLock {
                    $0.failure = "\(error)"
                    $0.finished = true
                }
            }
        }
    }

    private func waitUntilOpen() async throws {
        for _ in 0..<1000 {
            let (opened, finished, failure) = state.withLock { ($0.opened, $0.finished, $0.failure) }
            if opened { return }
            if finished { throw TestFailure("WebSocket upgrade refused: \(failure ?? "closed")") }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("WebSocket did not open")
    }

    public func send(_ text: String) { outgoing.yield(.text(text)) }

    public func send(_ object: Message) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        send(String(decoding: try! encoder.encode(JSONValue.object(object)), as: UTF8.self))
    }

    public func close() { outgoing.yield(.close) }

    /// The next message, whatever it is.
    public func next(timeout: Duration = .seconds(10)) async throws -> Message {
        let deadline = ContinuousClock.now + timeout
        while true {
            // Looked at once more after the deadline: a test that was not
            // scheduled for a while must not miss what arrived meanwhile.
            let text: String? = state.withLock { $0.received.isEmpty ? nil : $0.received.removeFirst() }
            if let text {
                guard case .object(let object) = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else {
                    throw TestFailure("not a JSON object: \(text)")
                }
                return object
            }
            let (finished, closeCode, failure) = state.withLock { ($0.finished, $0.closeCode, $0.failure) }
            if finished {
                throw TestFailure(
                    "connection closed while waiting for a message (close code \(closeCode.map { "\($0)" } ?? "none")\(failure.map { ", \($0)" } ?? ""))")
            }
            if ContinuousClock.now >= deadline { throw TestFailure("no message within \(timeout)") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// The next message, which must have this type.
    @discardableResult
    public func expect(_ type: String, timeout: Duration = .seconds(10)) async throws -> Message {
        let message = try await next(timeout: timeout)
        guard case .string(let actual)? = message["type"], actual == type else {
            throw TestFailure("expected \(type), got \(message)")
        }
        return message
    }

    /// The next message must be an error with this code.
    public func expectError(_ code: String) async throws {
        let message = try await expect("error")
        guard case .string(let actual)? = message["code"], actual == code else {
            throw TestFailure("expected error \(code), got \(message)")
        }
    }

    /// Nothing arrives for a while.
    public func expectSilence(for duration: Duration = .milliseconds(300)) async throws {
        try await Task.sleep(for: duration)
        let pending = state.withLock { $0.received }
        if !pending.isEmpty { throw TestFailure("unexpected messages: \(pending)") }
    }

    /// Waits for the connection to end and returns the server's close code.
    public func closeCode(timeout: Duration = .seconds(20)) async throws -> WebSocketErrorCode? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let (finished, code) = state.withLock { ($0.finished, $0.closeCode) }
            if finished { return code }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("connection still open after \(timeout)")
    }

    public var isFinished: Bool { state.withLock { $0.finished } }
}

extension [String: JSONValue] {
    public func string(_ key: String) -> String? {
        if case .string(let value)? = self[key] { return value }
        return nil
    }

    public func object(_ key: String) -> [String: JSONValue]? {
        if case .object(let value)? = self[key] { return value }
        return nil
    }

    public func array(_ key: String) -> [JSONValue]? {
        if case .array(let value)? = self[key] { return value }
        return nil
    }
}
