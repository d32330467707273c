public import Routing

/// Overlay probes between gateways, replacing ping scripts: one probe per peer every ``interval`` from
/// our overlay address to the peer's probe port; RTT and loss over the last ``window`` probes give
/// p50/p95/p99 and a loss ratio per peer. Pure bookkeeping: the controller turns due probes into
/// datagrams and feeds answers back.
public struct ProbeTracker: Sendable {
    public static let interval: Duration = .seconds(1)
    public static let window = 300
    public static let timeout: Duration = .seconds(2)
    public static let unresponsiveAfter: Duration = .seconds(5)

    struct Sample: Sendable {
        var sequence: UInt32
        var sentAt: Timestamp
        var rtt: Duration?
    }

    public struct Statistics: Sendable, Hashable {
        public var p50: Double
        public var p95: Double
        public var p99: Double
        public var loss: Double
    }

    private var sequence: UInt32 = 0
    private var samples: [String: [Sample]] = [:]
    /// Which peer a sequence number went to, for answers.
    private var sentTo: [UInt32: String] = [:]
    private(set) var nextRoundAt = Timestamp.zero
    /// An exponentially weighted RTT per key in milliseconds (weight 1/8 for each new answer, as TCP's SRTT).
    private var smoothed: [String: Double] = [:]
    /// RTTs measured since the last ``takeNewRTTs()``, for the histogram.
    private var fresh: [(peer: String, seconds: Double)] = []

    public init() {}

    /// The sequence numbers to send now, one per peer, if a round is due.
    mutating func round(now: Timestamp, peers: [String]) -> [(peer: String, sequence: UInt32)] {
        guard now >= nextRoundAt else { return [] }
        nextRoundAt = now + ProbeTracker.interval
        var out: [(String, UInt32)] = []
        for peer in peers {
            sequence &+= 1
            out.append((peer, sequence))
            var list = samples[peer, default: []]
            list.append(Sample(sequence: sequence, sentAt: now, rtt: nil))
            if list.count > ProbeTracker.window {
                for old in list.prefix(list.count - ProbeTracker.window) { sentTo.removeValue(forKey: old.sequence) }
                list.removeFirst(list.count - ProbeTracker.window)
            }
            samples[peer] = list
            sentTo[sequence] = peer
        }
        return out
    }

    mutating func answer(sequence: UInt32, now: Timestamp) {
        guard let peer = sentTo[sequence], var list = samples[peer],
            let i = list.lastIndex(where: { $0.sequence == sequence }), list[i].rtt == nil
        else { return }
        let rtt = now.duration(since: list[i].sentAt)
        list[i].rtt = rtt
        samples[peer] = list
        fresh.append((peer, rtt.seconds))
        let milliseconds = rtt.seconds * 1000
        smoothed[peer] = smoothed[peer].map { $0 + (milliseconds - $0) / 8 } ?? milliseconds
    }

    /// The key (peer or subnet) a sequence number was sent to, while its answer is awaited.
    func key(forSequence sequence: UInt32) -> String? { sentTo[sequence] }

    /// Forgets every key but `keys` (subnets no longer probed).
    mutating func keep(only keys: Set<String>) {
        for key in samples.keys where !keys.contains(key) { forget(key) }
    }

    /// False once probes sent over the last ``unresponsiveAfter`` all went unanswered (with enough of them
    /// settled to judge); true while answers come, or before there is evidence either way.
    public func isResponsive(_ peer: String, now: Timestamp) -> Bool {
        guard let list = samples[peer] else { return true }
        let recent = list.filter { now.duration(since: $0.sentAt) <= ProbeTracker.unresponsiveAfter }
        let settled = recent.filter { $0.rtt != nil || now.duration(since: $0.sentAt) > ProbeTracker.timeout }
        guard settled.count >= 3 else { return true }
        return settled.contains { $0.rtt != nil }
    }

    /// Of the last `count` probes to `key` sent since `since` that were answered or timed out: how many
    /// went unanswered.
    func recentLoss(_ key: String, count: Int, since: Timestamp?, now: Timestamp) -> (lost: Int, settled: Int) {
        var lost = 0
        var settled = 0
        for sample in (samples[key] ?? []).reversed() {
            if settled == count || since.map({ sample.sentAt < $0 }) == true { break }
            if sample.rtt != nil {
                settled += 1
            } else if now.duration(since: sample.sentAt) > ProbeTracker.timeout {
                settled += 1
                lost += 1
            }
        }
        return (lost, settled)
    }

    /// Drops everything about `peer` (removed from the configuration), including answers still in flight.
    mutating func forget(_ peer: String) {
        for sample in samples[peer] ?? [] { sentTo.removeValue(forKey: sample.sequence) }
        samples.removeValue(forKey: peer)
        smoothed.removeValue(forKey: peer)
        fresh.removeAll { $0.peer == peer }
    }

    /// The smoothed RTT to `key` in milliseconds, once one answer came.
    public func smoothedRTTMilliseconds(_ key: String) -> Double? { smoothed[key] }

    /// The RTTs measured since the last call, for the histogram.
    public mutating func takeNewRTTs() -> [(peer: String, seconds: Double)] {
        defer { fresh.removeAll(keepingCapacity: true) }
        return fresh
    }

    /// p50/p95/p99 in milliseconds and the loss ratio over answered-or-timed-out probes.
    public func statistics(for peer: String, now: Timestamp) -> Statistics? {
        guard let list = samples[peer] else { return nil }
        let settled = list.filter { $0.rtt != nil || now.duration(since: $0.sentAt) > ProbeTracker.timeout }
        guard !settled.isEmpty else { return nil }
        let rtts = settled.compactMap { $0.rtt.map { $0.seconds * 1000 } }.sorted()
        let loss = Double(settled.count - rtts.count) / Double(settled.count)
        guard !rtts.isEmpty else { return Statistics(p50: .nan, p95: .nan, p99: .nan, loss: loss) }
        func percentile(_ p: Double) -> Double {
            rtts[min(rtts.count - 1, Int((p * Double(rtts.count - 1)).rounded()))]
        }
        return Statistics(p50: percentile(0.5), p95: percentile(0.95), p99: percentile(0.99), loss: loss)
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    public var seconds: Double {
        let (s, a) = components
        return Double(s) + Double(a) / 1e18
    }
}
