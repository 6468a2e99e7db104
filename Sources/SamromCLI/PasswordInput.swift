import Foundation
import Sodium

/// The password for `samrom user add`. From a terminal it is asked for on
/// standard error, twice, with echo off; from a pipe it is one line, as
/// scripts send it. Never echoed or logged; kept in wiped memory.
enum PasswordInput {
    static func read(for username: String) throws -> SecureBytes {
        guard isatty(0) == 1 else { return try readLine() }
        return try TerminalEcho.withEchoOff {
            prompt("Password for \(username) (not shown): ")
            let first = try readLine()
            prompt("The same password again: ")
            let second = try readLine()
            guard ConstantTime.equals(first, second) else { throw CLIError("the two passwords differ; nothing was changed") }
            return first
        }
    }

    /// One line from standard input, without its line ending.
    static func readLine() throws -> SecureBytes {
        var bytes: [UInt8] = []
        defer { for i in bytes.indices { bytes[i] = 0 } }
        while bytes.count <= PasswordHash.maxPasswordBytes + 2 {
            var byte: UInt8 = 0
            let n = Foundation.read(0, &byte, 1)
            if n <= 0 || byte == UInt8(ascii: "\n") { break }
            bytes.append(byte)
        }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard !bytes.isEmpty else { throw CLIError("no password on standard input") }
        guard String(validating: bytes, as: UTF8.self) != nil else { throw CLIError("the password is not valid UTF-8") }
        return SecureBytes(bytes)
    }

    private static func prompt(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// Turns the terminal's echo off around a prompt and always back on: when
/// the body returns or throws, and on SIGINT, SIGTERM, SIGHUP or SIGQUIT
/// (the handler restores the terminal, then lets the signal do what it
/// would have done). termios is C because Foundation cannot change a
/// terminal's modes.
enum TerminalEcho {
    /// The terminal's modes before; read by the signal handler, which can
    /// capture nothing. Written once before the handlers are installed.
    nonisolated(unsafe) static var saved = termios()
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    static func withEchoOff<T>(_ body: () throws -> T) throws -> T {
        var original = termios()
        guard tcgetattr(0, &original) == 0 else { throw CLIError("cannot read the terminal's settings") }
        saved = original
        var quiet = original
        // No echo, but the Enter key still moves to the next line.
        quiet.c_lflag &= ~tcflag_t(ECHO)
        quiet.c_lflag |= tcflag_t(ECHONL)
        let previous = signals.map { signal($0, restoreAndReraise) }
        defer {
            _ = tcsetattr(0, TCSANOW, &original)
            for (number, handler) in zip(signals, previous) { _ = signal(number, handler) }
        }
        guard tcsetattr(0, TCSAFLUSH, &quiet) == 0 else { throw CLIError("cannot turn the terminal's echo off") }
        return try body()
    }

    private static let restoreAndReraise: @convention(c) (Int32) -> Void = { number in
        // Only async-signal-safe calls here.
        _ = tcsetattr(0, TCSANOW, &TerminalEcho.saved)
        _ = signal(number, SIG_DFL)
        _ = raise(number)
    }
}
