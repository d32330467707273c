import Foundation
import LinuxSystem
import NetworkTypes
import Routing

/// Built-in probes between gateways over the tunnel, replacing ping scripts: one probe per peer every
/// ``interval`` from our overlay address to the peer's probe port; the RTT and loss of the last
/// ``window`` probes give p50/p95/p99 and a loss ratio per peer. Not thread-safe: owned by the loop.
final class OverlayProbes {
    static let interval: Duration = .seconds(1)
    static let window = 300
    static let timeout: Duration = .seconds(2)

    struct Sample {
        var sequence: UInt32
        var sentAt: Timestamp
        var rtt: Duration?
    }

    let socket: DatagramSocket
    private let overlayAddress: IPAddress
    private var sequence: UInt32 = 0
    private var samples: [String: [Sample]] = [:]
    private var lastSent = Timestamp.zero
    /// RTTs measured since the last ``takeNewRTTs()``, for the histogram.
    private var fresh: [(peer: String, seconds: Double)] = []

    init(overlayAddress: IPAddress) throws {
        socket = try DatagramSocket(port: 0, device: nil, bindAddress: overlayAddress)
        self.overlayAddress = overlayAddress
    }

    /// Sends the next round if due and reads answers.
    func step(now: Timestamp, peers: [(name: String, address: IPAddress)]) {
        while let (bytes, _) = socket.receive() { receive(bytes, now: now) }
        guard now.duration(since: lastSent) >= OverlayProbes.interval else { return }
        lastSent = now
        for peer in peers {
            sequence &+= 1
            var bytes = Gateway.probeMagic
            withUnsafeBytes(of: sequence.bigEndian) { bytes += $0 }
            switch overlayAddress {
            case .v4(let a): bytes += [4] + withUnsafeBytes(of: a.value.bigEndian, Array.init)
            case .v6(let a): bytes += [6] + a.bytes
            }
            bytes += [UInt8(socket.localPort >> 8), UInt8(socket.localPort & 0xff)]
            socket.send(bytes, to: Endpoint(address: peer.address, port: Gateway.probePort))
            var list = samples[peer.name, default: []]
            list.append(Sample(sequence: sequence, sentAt: now, rtt: nil))
            if list.count > OverlayProbes.window { list.removeFirst(list.count - OverlayProbes.window) }
            samples[peer.name] = list
        }
    }

    private func receive(_ bytes: [UInt8], now: Timestamp) {
        guard bytes.count >= 12, bytes.starts(with: Gateway.probeMagic) else { return }
        let seq = bytes[8..<12].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        for (name, list) in samples {
            guard let i = list.lastIndex(where: { $0.sequence == seq }), list[i].rtt == nil else { continue }
            let rtt = now.duration(since: list[i].sentAt)
            samples[name]![i].rtt = rtt
            fresh.append((name, Double(rtt.nanosecondsValue) / 1e9))
            return
        }
    }

    /// False once probes sent over the last ``unresponsiveAfter`` all went unanswered (with enough of them
    /// settled to judge); true while answers come, or before there is evidence either way.
    func isResponsive(_ peer: String, now: Timestamp) -> Bool {
        guard let list = samples[peer] else { return true }
        let recent = list.filter { now.duration(since: $0.sentAt) <= OverlayProbes.unresponsiveAfter }
        let settled = recent.filter { $0.rtt != nil || now.duration(since: $0.sentAt) > OverlayProbes.timeout }
        guard settled.count >= 3 else { return true }
        return settled.contains { $0.rtt != nil }
    }

    static let unresponsiveAfter: Duration = .seconds(5)

    /// Drops everything about `peer` (removed from the configuration), including answers still in flight.
    func forget(_ peer: String) {
        samples.removeValue(forKey: peer)
        fresh.removeAll { $0.peer == peer }
    }

    func takeNewRTTs() -> [(peer: String, seconds: Double)] {
        defer { fresh.removeAll(keepingCapacity: true) }
        return fresh
    }

    /// p50/p95/p99 in milliseconds and the loss ratio over answered-or-timed-out probes.
    func statistics(for peer: String, now: Timestamp) -> (p50: Double, p95: Double, p99: Double, loss: Double)? {
        guard let list = samples[peer] else { return nil }
        let settled = list.filter { $0.rtt != nil || now.duration(since: $0.sentAt) > OverlayProbes.timeout }
        guard !settled.isEmpty else { return nil }
        let rtts = settled.compactMap { $0.rtt.map { Double($0.nanosecondsValue) / 1e6 } }.sorted()
        let loss = Double(settled.count - rtts.count) / Double(settled.count)
        guard !rtts.isEmpty else { return (.nan, .nan, .nan, loss) }
        func percentile(_ p: Double) -> Double {
            rtts[min(rtts.count - 1, Int((p * Double(rtts.count - 1)).rounded()))]
        }
        return (percentile(0.5), percentile(0.95), percentile(0.99), loss)
    }
}
