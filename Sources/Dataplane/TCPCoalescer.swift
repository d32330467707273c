import LinuxSystem

/// Receive-side coalescing (GRO) for the TUN device: consecutive in-order segments of one TCP flow are
/// joined into one super-packet written once with a virtio-net GSO header, so the kernel's TCP stack
/// handles one large packet instead of dozens of small ones.
///
/// Only runs of adjacent packets in a receive batch are joined, so delivery order never changes. The
/// rules follow what the kernel's own GRO accepts: same flow, addresses, IP TOS/TTL (hop limit, traffic
/// class and flow label), acknowledgment number and TCP options; only ACK or ACK+PSH; sequence numbers
/// contiguous; every segment but the last of the same size. Not safe for concurrent use; owned by the
/// inbound thread.
final class TCPCoalescer {
    private static let maxLength = 65535
    private static let maxSegments = 64

    /// The super-packet under construction, after room for the virtio header.
    private let buffer: UnsafeMutableRawBufferPointer
    private var length = 0
    private var segments = 0
    private var isIPv6 = false
    private var ipHeaderLength = 0
    private var tcpHeaderLength = 0
    private var segmentSize = 0
    private var lastSegmentWasShort = false
    private var lastHadPush = false
    private var nextSequence: UInt32 = 0

    init() {
        buffer = .allocate(byteCount: TunDevice.virtioHeaderSize + TCPCoalescer.maxLength, alignment: 16)
    }

    deinit { buffer.deallocate() }

    private var packetArea: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: buffer[TunDevice.virtioHeaderSize...])
    }

    /// Adds `packet` to the current run if it continues it; false means flush and try ``start(_:)``.
    func append(_ packet: UnsafeRawBufferPointer) -> Bool {
        guard segments > 0, !lastSegmentWasShort, !lastHadPush, let info = TCPSegmentInfo(packet) else { return false }
        // Only plain data segments (ACK, optionally PSH) join a run; FIN, SYN, RST, URG, ECE, CWR end it.
        guard info.flags & ~0x08 == 0x10, info.isIPv6 == isIPv6, info.ipHeaderLength == ipHeaderLength,
            info.tcpHeaderLength == tcpHeaderLength,
            info.payloadLength > 0, info.payloadLength <= segmentSize, info.sequence == nextSequence,
            segments < TCPCoalescer.maxSegments, length + info.payloadLength <= TCPCoalescer.maxLength
        else { return false }
        let current = UnsafeRawBufferPointer(packetArea)
        // Same addresses, ports, ack number and options; same TOS/TTL (v4) or first word and hop limit (v6).
        let addressRange = isIPv6 ? 8..<40 : 12..<20
        guard equal(current, packet, addressRange),
            equal(current, packet, ipHeaderLength..<(ipHeaderLength + 4)),
            equal(current, packet, (ipHeaderLength + 8)..<(ipHeaderLength + 12)),
            equal(current, packet, (ipHeaderLength + 20)..<(ipHeaderLength + tcpHeaderLength))
        else { return false }
        if isIPv6 {
            guard equal(current, packet, 0..<4), current[7] == packet[7] else { return false }
        } else {
            guard current[1] == packet[1], current[8] == packet[8], current[6] & 0x40 == packet[6] & 0x40 else {
                return false
            }
        }
        let payloadStart = ipHeaderLength + tcpHeaderLength
        UnsafeMutableRawBufferPointer(rebasing: packetArea[length..<(length + info.payloadLength)]).copyMemory(
            from: UnsafeRawBufferPointer(rebasing: packet[payloadStart..<(payloadStart + info.payloadLength)]))
        length += info.payloadLength
        segments += 1
        nextSequence = info.sequence &+ UInt32(info.payloadLength)
        lastSegmentWasShort = info.payloadLength < segmentSize
        if info.flags & 0x08 != 0 {
            lastHadPush = true
            packetArea[ipHeaderLength + 13] |= 0x08
        }
        return true
    }

    /// Starts a run with `packet` if it may begin one (a plain TCP data segment); false to write it as is.
    func start(_ packet: UnsafeRawBufferPointer) -> Bool {
        guard let info = TCPSegmentInfo(packet), info.payloadLength > 0, info.flags & ~0x08 == 0x10,
            packet.count <= TCPCoalescer.maxLength
        else { return false }
        packetArea.copyMemory(from: packet)
        length = packet.count
        segments = 1
        isIPv6 = info.isIPv6
        ipHeaderLength = info.ipHeaderLength
        tcpHeaderLength = info.tcpHeaderLength
        segmentSize = info.payloadLength
        lastSegmentWasShort = false
        lastHadPush = info.flags & 0x08 != 0
        nextSequence = info.sequence &+ UInt32(info.payloadLength)
        return true
    }

    /// Writes the current run (if any) with the right virtio header and resets.
    func flush(to tun: TunDevice) throws(SystemError) {
        try flush { (bytes) throws(SystemError) in try tun.write(bytes) }
    }

    /// Hands the current run (virtio header then packet) to `write` and resets.
    func flush(_ write: (UnsafeRawBufferPointer) throws(SystemError) -> Void) throws(SystemError) {
        guard segments > 0 else { return }
        defer { segments = 0 }
        let virtio = TunDevice.virtioHeaderSize
        let header = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<virtio])
        header.initializeMemory(as: UInt8.self, repeating: 0)
        let packet = UnsafeMutableRawBufferPointer(rebasing: packetArea[0..<length])
        if segments > 1 {
            if isIPv6 {
                packet.storeBytes(of: UInt16(length - 40).bigEndian, toByteOffset: 4, as: UInt16.self)
            } else {
                packet.storeBytes(of: UInt16(length).bigEndian, toByteOffset: 2, as: UInt16.self)
                packet.storeBytes(of: UInt16(0), toByteOffset: 10, as: UInt16.self)
                let sum = InternetChecksum.add(UnsafeRawBufferPointer(rebasing: packet[0..<ipHeaderLength]), to: 0)
                packet.storeBytes(of: (~InternetChecksum.fold(sum)).bigEndian, toByteOffset: 10, as: UInt16.self)
            }
            // CHECKSUM_PARTIAL: the field holds the pseudo-header sum; the kernel completes or trusts it.
            let pseudo = InternetChecksum.pseudoHeaderSum(
                packet: UnsafeRawBufferPointer(packet), isIPv6: isIPv6, protocolNumber: 6,
                length: length - ipHeaderLength)
            packet.storeBytes(
                of: InternetChecksum.fold(pseudo).bigEndian, toByteOffset: ipHeaderLength + 16, as: UInt16.self)
            header[0] = TCPSegmentation.VirtioHeader.flagNeedsChecksum
            header[1] = isIPv6 ? TCPSegmentation.VirtioHeader.gsoTCPv6 : TCPSegmentation.VirtioHeader.gsoTCPv4
            header.storeBytes(
                of: UInt16(ipHeaderLength + tcpHeaderLength).littleEndian, toByteOffset: 2, as: UInt16.self)
            header.storeBytes(of: UInt16(segmentSize).littleEndian, toByteOffset: 4, as: UInt16.self)
            header.storeBytes(of: UInt16(ipHeaderLength).littleEndian, toByteOffset: 6, as: UInt16.self)
            header.storeBytes(of: UInt16(16).littleEndian, toByteOffset: 8, as: UInt16.self)
        }
        try write(UnsafeRawBufferPointer(rebasing: buffer[0..<(virtio + length)]))
    }

    private func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        range.upperBound <= a.count && range.upperBound <= b.count
            && memcmpEqual(a.baseAddress! + range.lowerBound, b.baseAddress! + range.lowerBound, range.count)
    }
}

@inline(__always)
private func memcmpEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
    var i = 0
    while i + 8 <= n {
        if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
            return false
        }
        i += 8
    }
    while i < n {
        if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
        i += 1
    }
    return true
}

/// The fields of a TCP segment that coalescing looks at; nil for anything else (fragments, IPv4
/// options, IPv6 extension headers, malformed lengths).
struct TCPSegmentInfo {
    var isIPv6: Bool
    var ipHeaderLength: Int
    var tcpHeaderLength: Int
    var payloadLength: Int
    var sequence: UInt32
    var flags: UInt8

    init?(_ p: UnsafeRawBufferPointer) {
        guard let first = p.first else { return nil }
        switch first >> 4 {
        case 4:
            guard p.count >= 40, first & 0x0f == 5, p[9] == 6 else { return nil }
            let total = Int(p[2]) << 8 | Int(p[3])
            let fragment = UInt16(p[6]) << 8 | UInt16(p[7])
            guard total == p.count, fragment & 0x3fff == 0 else { return nil }  // no MF, offset 0
            isIPv6 = false
            ipHeaderLength = 20
        case 6:
            guard p.count >= 60, p[6] == 6, 40 + (Int(p[4]) << 8 | Int(p[5])) == p.count else { return nil }
            isIPv6 = true
            ipHeaderLength = 40
        default:
            return nil
        }
        tcpHeaderLength = Int(p[ipHeaderLength + 12] >> 4) * 4
        guard tcpHeaderLength >= 20, ipHeaderLength + tcpHeaderLength <= p.count else { return nil }
        payloadLength = p.count - ipHeaderLength - tcpHeaderLength
        sequence = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: ipHeaderLength + 4, as: UInt32.self))
        flags = p[ipHeaderLength + 13]
    }
}
