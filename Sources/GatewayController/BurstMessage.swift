public import NetworkTypes

/// A probe burst for drills, on ``GatewayController/probePort`` inside the tunnel: a gateway asks a
/// remote gateway to send ICMP echo from *its* LAN side to a host on the asker's LAN every few
/// milliseconds, so the drill measures the LAN-to-LAN path through both regions' forwarding while the
/// asker's group fails over. Bounded: at most ``maximumCount`` probes, no faster than ``minimumInterval``.
///
/// - request: `MGBURSTQ` · id (4) · target (family 1, address 4|16) · count (2) · interval ms (1);
/// - stop: `MGBURSTS` · id (4) (end the burst now and answer);
/// - result: `MGBURSTA` · id (4) · status (1: 0 done, 1 refused: not primary, no LAN address, or a target
///   outside the asker's group's subnets, 2 busy, 3 accepted: sent at once when the burst starts) ·
///   sent (2) · received (2) · longest gap start ms (4) · its end ms (4) · duration ms (4), times from the
///   first probe. A gap ends at the first answer after it, or at the end of the burst if none came.
public enum BurstMessage {
    public static let requestMagic = Array("MGBURSTQ".utf8)
    public static let stopMagic = Array("MGBURSTS".utf8)
    public static let resultMagic = Array("MGBURSTA".utf8)
    public static let maximumCount = 3000
    /// A burst lasts at most this long, whatever its count and interval.
    public static let maximumDuration: Duration = .seconds(15)
    public static let minimumInterval: Duration = .milliseconds(5)
    /// Probes sent this long after the last answer without one mean the path did not come back.
    public static let unansweredTail: Duration = .milliseconds(200)

    public struct Request: Sendable, Hashable {
        public var id: UInt32
        public var target: IPAddress
        public var count: Int
        public var interval: Duration
        /// Who asked (the datagram's source): where the result goes.
        public var replyTo: Endpoint
        /// The controller refused it (the target is not behind the asker's group): answer so at once.
        public var isRefused = false

        var refused: Request {
            var copy = self
            copy.isRefused = true
            return copy
        }

        public init(id: UInt32, target: IPAddress, count: Int, interval: Duration, replyTo: Endpoint) {
            self.id = id
            self.target = target
            self.count = count
            self.interval = interval
            self.replyTo = replyTo
        }
    }

    public struct Result: Sendable, Hashable {
        /// `accepted` comes at once when the burst starts (no figures yet); `done` at its end.
        public enum Status: UInt8, Sendable { case done = 0, refused = 1, busy = 2, accepted = 3 }
        public var id: UInt32
        public var status: Status
        public var sent: Int
        public var received: Int
        public var longestGapStartMilliseconds: UInt32
        public var longestGapEndMilliseconds: UInt32
        public var durationMilliseconds: UInt32

        public init(
            id: UInt32, status: Status, sent: Int = 0, received: Int = 0, longestGapStartMilliseconds: UInt32 = 0,
            longestGapEndMilliseconds: UInt32 = 0, durationMilliseconds: UInt32 = 0
        ) {
            self.id = id
            self.status = status
            self.sent = sent
            self.received = received
            self.longestGapStartMilliseconds = longestGapStartMilliseconds
            self.longestGapEndMilliseconds = longestGapEndMilliseconds
            self.durationMilliseconds = durationMilliseconds
        }
    }

    public static func request(id: UInt32, target: IPAddress, count: Int, interval: Duration) -> [UInt8] {
        let milliseconds = UInt8(clamping: Int(interval.seconds * 1000))
        let count = UInt16(clamping: count)
        return requestMagic + ProbePortBytes.be32(id) + ProbePortBytes.address(target)
            + [UInt8(count >> 8), UInt8(count & 0xff), milliseconds]
    }

    public static func parseRequest(_ bytes: [UInt8], from source: Endpoint) -> Request? {
        guard bytes.starts(with: requestMagic) else { return nil }
        var reader = ProbePortBytes.Reader(bytes: bytes, offset: requestMagic.count)
        guard let id = reader.u32(), let target = reader.address(), let high = reader.u8(), let low = reader.u8(),
            let milliseconds = reader.u8(), reader.offset == bytes.count
        else { return nil }
        let count = Int(high) << 8 | Int(low)
        let interval = Duration.milliseconds(Int64(milliseconds))
        guard (1...maximumCount).contains(count), interval >= minimumInterval,
            interval * count <= maximumDuration
        else { return nil }
        return Request(id: id, target: target, count: count, interval: interval, replyTo: source)
    }

    public static func stop(id: UInt32) -> [UInt8] { stopMagic + ProbePortBytes.be32(id) }

    public static func parseStop(_ bytes: [UInt8]) -> UInt32? {
        guard bytes.count == stopMagic.count + 4, bytes.starts(with: stopMagic) else { return nil }
        var reader = ProbePortBytes.Reader(bytes: bytes, offset: stopMagic.count)
        return reader.u32()
    }

    public static func result(_ result: Result) -> [UInt8] {
        func be16(_ value: Int) -> [UInt8] {
            let v = UInt16(clamping: value)
            return [UInt8(v >> 8), UInt8(v & 0xff)]
        }
        return resultMagic + ProbePortBytes.be32(result.id) + [result.status.rawValue] + be16(result.sent)
            + be16(result.received) + ProbePortBytes.be32(result.longestGapStartMilliseconds)
            + ProbePortBytes.be32(result.longestGapEndMilliseconds) + ProbePortBytes.be32(result.durationMilliseconds)
    }

    public static func parseResult(_ bytes: [UInt8]) -> Result? {
        guard bytes.count == resultMagic.count + 21, bytes.starts(with: resultMagic) else { return nil }
        var reader = ProbePortBytes.Reader(bytes: bytes, offset: resultMagic.count)
        guard let id = reader.u32(), let statusByte = reader.u8(), let status = Result.Status(rawValue: statusByte),
            let sentHigh = reader.u8(), let sentLow = reader.u8(), let receivedHigh = reader.u8(),
            let receivedLow = reader.u8(), let gapStart = reader.u32(), let gapEnd = reader.u32(),
            let duration = reader.u32()
        else { return nil }
        return Result(
            id: id, status: status, sent: Int(sentHigh) << 8 | Int(sentLow),
            received: Int(receivedHigh) << 8 | Int(receivedLow), longestGapStartMilliseconds: gapStart,
            longestGapEndMilliseconds: gapEnd, durationMilliseconds: duration)
    }
}
