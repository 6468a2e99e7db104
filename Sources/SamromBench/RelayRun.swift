import Foundation
import Synchronization

/// One side of a relayed conversation: a socket, how to stamp a frame for the
/// other side, and how to read a stamp back from what arrives.
struct RelayEndpoint: Sendable {
    let socket: BenchSocket
    let makeFrame: @Sendable (_ index: Int, _ nanos: UInt64) -> BenchSocket.Frame
}

/// Drives pairs of endpoints through a relay, either as fast as it allows
/// (each direction keeps `window` frames in flight: a frame is sent when one
/// arrives) or at a fixed total rate, and measures what arrives.
enum RelayRun {
    struct Outcome: Sendable {
        var delivered: Int
        var seconds: Double
        var latency: Latency
        var perSecond: Double { seconds > 0 ? Double(delivered) / seconds : 0 }
    }

    enum Mode: Sendable {
        case saturate(window: Int)
        case fixedRate(totalPerSecond: Double)
    }

    /// Runs for `warmup` then measures for `seconds`; frames that arrive in
    /// the measured interval count, and their one-way latencies are recorded.
    static func run(pairs: [(RelayEndpoint, RelayEndpoint)], mode: Mode, warmup: Double, seconds: Double) async -> Outcome {
        let start = RelayTraffic.now()
        let measureFrom = start + UInt64(warmup * 1e9)
        let measureTo = measureFrom + UInt64(seconds * 1e9)
        let stop = StopFlag()
        let directions = pairs.flatMap { [($0.0, $0.1), ($0.1, $0.0)] }
        let senders = directions.count

        let results = await withTaskGroup(of: (Int, Latency).self) { group in
            for (sender, receiver) in directions {
                let (credits, creditSink) = AsyncStream<Void>.makeStream()
                // The receiver: stamps in, credits back to the sender.
                group.addTask {
                    var latency = Latency()
                    var delivered = 0
                    var iterator = receiver.socket.inbound.makeAsyncIterator()
                    while let frame = await iterator.next() {
                        let arrived = RelayTraffic.now()
                        let stamp: UInt64?
                        switch frame {
                        case .text(let text): stamp = RelayTraffic.timestamp(in: text.utf8)
                        case .binary(let bytes): stamp = RelayTraffic.timestamp(in: bytes)
                        }
                        guard let stamp else { continue }
                        if arrived >= measureFrom && arrived < measureTo {
                            delivered += 1
                            latency.record(nanos: arrived &- stamp)
                        }
                        creditSink.yield()
                        if arrived >= measureTo { break }
                    }
                    creditSink.finish()
                    return (delivered, latency)
                }
                // The sender.
                group.addTask {
                    var index = 0
                    switch mode {
                    case .saturate(let window):
                        for _ in 0..<window {
                            sender.socket.send(frame: sender.makeFrame(index, RelayTraffic.now()))
                            index += 1
                        }
                        for await _ in credits {
                            if stop.isSet { break }
                            sender.socket.send(frame: sender.makeFrame(index, RelayTraffic.now()))
                            index += 1
                        }
                    case .fixedRate(let total):
                        let interval = Double(senders) / total
                        // Spread the senders' phases so the load is even.
                        let phase = Double.random(in: 0..<interval)
                        var next = Double(start) / 1e9 + phase
                        while !stop.isSet {
                            let now = Double(RelayTraffic.now()) / 1e9
                            if next > now { try? await Task.sleep(for: .seconds(next - now)) }
                            sender.socket.send(frame: sender.makeFrame(index, RelayTraffic.now()))
                            index += 1
                            next += interval
                        }
                    }
                    return (0, Latency())
                }
            }
            return await finishTimedRun(&group, after: warmup + seconds, stop: stop)
        }
        return Outcome(delivered: results.0, seconds: seconds, latency: results.1)
    }
}

extension BenchSocket {
    func send(frame: Frame) {
        switch frame {
        case .text(let text): send(text)
        case .binary(let bytes): send(bytes)
        }
    }
}
