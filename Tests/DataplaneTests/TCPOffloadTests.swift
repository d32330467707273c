import LinuxSystem
import Testing

@testable import Dataplane

/// An independent, slow Internet checksum for checking the data plane's fast one.
private func referenceSum(_ bytes: [UInt8]) -> UInt32 {
    var sum: UInt32 = 0
    var i = 0
    while i + 1 < bytes.count {
        sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
        i += 2
    }
    if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
    return sum
}

private func fold(_ s: UInt32) -> UInt16 {
    var s = s
    while s >> 16 != 0 { s = (s & 0xffff) + (s >> 16) }
    return UInt16(s)
}

/// A TCP segment over IPv4 or IPv6 with options (a 12-byte timestamp block) and correct checksums.
private func tcpPacket(
    isIPv6: Bool, sequence: UInt32, payload: [UInt8], flags: UInt8 = 0x10, ack: UInt32 = 7777, id: UInt16 = 100
) -> [UInt8] {
    var tcp: [UInt8] = [0x9c, 0x40, 0x14, 0x51]  // ports 40000 -> 5201
    tcp += withUnsafeBytes(of: sequence.bigEndian, Array.init)
    tcp += withUnsafeBytes(of: ack.bigEndian, Array.init)
    tcp += [0x80, flags, 0x01, 0xf6, 0, 0, 0, 0]  // data offset 8 words (32 bytes)
    tcp += [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]  // NOP NOP timestamps
    tcp += payload
    let ip: [UInt8]
    let pseudo: [UInt8]
    if isIPv6 {
        let src: [UInt8] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
        let dst: [UInt8] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]
        ip = [0x60, 0, 0, 0] + withUnsafeBytes(of: UInt16(tcp.count).bigEndian, Array.init) + [6, 64] + src + dst
        pseudo = src + dst + withUnsafeBytes(of: UInt32(tcp.count).bigEndian, Array.init) + [0, 0, 0, 6]
    } else {
        var header: [UInt8] = [0x45, 0] + withUnsafeBytes(of: UInt16(20 + tcp.count).bigEndian, Array.init)
        header += withUnsafeBytes(of: id.bigEndian, Array.init) + [0x40, 0, 64, 6, 0, 0]
        header += [10, 0, 0, 1, 10, 0, 0, 2]
        let c = ~fold(referenceSum(header))
        header[10] = UInt8(c >> 8)
        header[11] = UInt8(c & 0xff)
        ip = header
        pseudo = [10, 0, 0, 1, 10, 0, 0, 2, 0, 6] + withUnsafeBytes(of: UInt16(tcp.count).bigEndian, Array.init)
    }
    let c = ~fold(referenceSum(pseudo) + referenceSum(tcp))
    tcp[16] = UInt8(c >> 8)
    tcp[17] = UInt8(c & 0xff)
    return ip + tcp
}

/// True if the IPv4 header checksum (for v4) and the TCP checksum verify.
private func checksumsValid(_ p: [UInt8]) -> Bool {
    let isIPv6 = p[0] >> 4 == 6
    let ipLength = isIPv6 ? 40 : 20
    if !isIPv6 && fold(referenceSum(Array(p[0..<20]))) != 0xffff { return false }
    let tcp = Array(p[ipLength...])
    let pseudo: [UInt8] =
        isIPv6
        ? Array(p[8..<40]) + withUnsafeBytes(of: UInt32(tcp.count).bigEndian, Array.init) + [0, 0, 0, 6]
        : Array(p[12..<20]) + [0, 6] + withUnsafeBytes(of: UInt16(tcp.count).bigEndian, Array.init)
    return fold(referenceSum(pseudo) + referenceSum(tcp)) == 0xffff
}

private func littleEndian(_ v: Int) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8)] }

private func virtioHeader(gsoType: UInt8, gsoSize: Int, checksumStart: Int, headerLength: Int) -> [UInt8] {
    var h: [UInt8] = [1, gsoType]
    h += littleEndian(headerLength)
    h += littleEndian(gsoSize)
    h += littleEndian(checksumStart)
    h += littleEndian(16)
    return h
}

@Suite("TUN offloads: TCP segmentation and coalescing")
struct TCPOffloadTests {
    @Test(
        "splits a TSO super-packet into segments with valid checksums, contiguous sequence numbers and the payload intact",
        arguments: [false, true])
    func splitsSuperPacket(isIPv6: Bool) throws {
        let payload = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var packet = tcpPacket(isIPv6: isIPv6, sequence: 1_000_000, payload: payload, flags: 0x18 | 0x80)
        let ipLength = isIPv6 ? 40 : 20
        packet[ipLength + 16] = 0x12  // a stale partial checksum, as the kernel leaves it
        let header = virtioHeader(
            gsoType: isIPv6 ? 4 : 1, gsoSize: 1208, checksumStart: ipLength, headerLength: ipLength + 32)
        var slots = [[UInt8]](repeating: [UInt8](repeating: 0, count: 2048), count: 16)
        var lengths = [Int](repeating: 0, count: 16)
        let count = try header.withUnsafeBytes { h in
            try packet.withUnsafeBytes { p in
                try TCPSegmentation.split(
                    header: .init(h), packet: p, maxSegments: 16,
                    slot: { i in slots[i].withUnsafeMutableBytes { $0 } }, emit: { lengths[$0] = $1 })
            }
        }
        #expect(count == 9)  // 10000 / 1208 rounded up
        var reassembled = [UInt8]()
        for i in 0..<count {
            let segment = Array(slots[i][0..<lengths[i]])
            #expect(checksumsValid(segment), "segment \(i) has a bad checksum")
            var seq: UInt32 = 0
            for k in 4..<8 { seq = seq << 8 | UInt32(segment[ipLength + k]) }
            #expect(seq == 1_000_000 + UInt32(i * 1208))
            let flags = segment[ipLength + 13]
            #expect((flags & 0x08 != 0) == (i == count - 1), "PSH only on the last segment")
            #expect((flags & 0x80 != 0) == (i == 0), "CWR only on the first segment")
            reassembled += segment[(ipLength + 32)...]
        }
        #expect(reassembled == payload)
    }

    @Test("refuses a super-packet that needs more segments than there are slots")
    func refusesTooManySegments() {
        let packet = tcpPacket(isIPv6: false, sequence: 1, payload: [UInt8](repeating: 1, count: 5000))
        let header = virtioHeader(gsoType: 1, gsoSize: 1000, checksumStart: 20, headerLength: 52)
        var slot = [UInt8](repeating: 0, count: 2048)
        #expect(throws: TCPSegmentation.Failure.self) {
            try header.withUnsafeBytes { h in
                try packet.withUnsafeBytes { p in
                    try TCPSegmentation.split(
                        header: .init(h), packet: p, maxSegments: 2, slot: { _ in slot.withUnsafeMutableBytes { $0 } },
                        emit: { _, _ in })
                }
            }
        }
    }

    @Test("refuses truncated and inconsistent super-packets without crashing")
    func refusesMalformed() {
        let packet = tcpPacket(isIPv6: false, sequence: 1, payload: [UInt8](repeating: 1, count: 3000))
        var slot = [UInt8](repeating: 0, count: 2048)
        for cut in [0, 10, 20, 39, 51] {
            let header = virtioHeader(gsoType: 1, gsoSize: 1000, checksumStart: 20, headerLength: 52)
            let truncated = Array(packet.prefix(cut))
            #expect(throws: TCPSegmentation.Failure.self) {
                try header.withUnsafeBytes { h in
                    try truncated.withUnsafeBytes { p in
                        try TCPSegmentation.split(
                            header: .init(h), packet: p, maxSegments: 8,
                            slot: { _ in slot.withUnsafeMutableBytes { $0 } }, emit: { _, _ in })
                    }
                }
            }
        }
    }

    @Test(
        "coalesces contiguous segments of one flow into one GSO write that splits back into the originals",
        arguments: [false, true])
    func coalescesAndSplitsBack(isIPv6: Bool) throws {
        var segments = [[UInt8]]()
        for i in 0..<5 {
            let size = i == 4 ? 300 : 1000
            var payload = [UInt8](repeating: 0, count: size)
            for k in 0..<size { payload[k] = UInt8(truncatingIfNeeded: k + i) }
            let flags: UInt8 = i == 4 ? 0x18 : 0x10
            let sequence = UInt32(5000 + i * 1000)
            segments.append(
                tcpPacket(isIPv6: isIPv6, sequence: sequence, payload: payload, flags: flags, id: UInt16(100 + i)))
        }
        let coalescer = TCPCoalescer()
        var writes = [[UInt8]]()
        for (i, s) in segments.enumerated() {
            try s.withUnsafeBytes { p in
                if i == 0 { #expect(coalescer.start(p)) } else { #expect(coalescer.append(p)) }
            }
        }
        try coalescer.flush { writes.append(Array($0)) }
        #expect(writes.count == 1)
        let written = try #require(writes.first)
        #expect(written[1] == (isIPv6 ? 4 : 1), "GSO type TCPv\(isIPv6 ? 6 : 4)")
        // Split it back the way the kernel would and compare with what went in.
        var slots = [[UInt8]](repeating: [UInt8](repeating: 0, count: 2048), count: 8)
        var lengths = [Int](repeating: 0, count: 8)
        let count = try written.withUnsafeBytes { w in
            try TCPSegmentation.split(
                header: .init(UnsafeRawBufferPointer(rebasing: w[0..<10])),
                packet: UnsafeRawBufferPointer(rebasing: w[10...]), maxSegments: 8,
                slot: { i in slots[i].withUnsafeMutableBytes { $0 } }, emit: { lengths[$0] = $1 })
        }
        #expect(count == 5)
        for i in 0..<count {
            let back = Array(slots[i][0..<lengths[i]])
            let ipLength = isIPv6 ? 40 : 20
            // IPv4 IDs are renumbered from the first; everything from the TCP header on must match exactly.
            #expect(Array(back[ipLength...]) == Array(segments[i][ipLength...]), "segment \(i) differs")
            #expect(checksumsValid(back))
        }
    }

    @Test("does not coalesce across a gap, a different flow, a flag change or after a short segment")
    func keepsRunsApart() {
        let a = tcpPacket(isIPv6: false, sequence: 1000, payload: [UInt8](repeating: 1, count: 500))
        let gap = tcpPacket(isIPv6: false, sequence: 2000, payload: [UInt8](repeating: 1, count: 500))
        let otherAck = tcpPacket(isIPv6: false, sequence: 1500, payload: [UInt8](repeating: 1, count: 500), ack: 1)
        let fin = tcpPacket(isIPv6: false, sequence: 1500, payload: [UInt8](repeating: 1, count: 500), flags: 0x11)
        let short = tcpPacket(isIPv6: false, sequence: 1500, payload: [UInt8](repeating: 1, count: 100))
        let afterShort = tcpPacket(isIPv6: false, sequence: 1600, payload: [UInt8](repeating: 1, count: 100))
        let syn = tcpPacket(isIPv6: false, sequence: 1, payload: [1], flags: 0x02)
        let coalescer = TCPCoalescer()
        for candidate in [gap, otherAck, fin] {
            a.withUnsafeBytes { _ = coalescer.start($0) }
            candidate.withUnsafeBytes { #expect(!coalescer.append($0)) }
        }
        a.withUnsafeBytes { _ = coalescer.start($0) }
        short.withUnsafeBytes { #expect(coalescer.append($0)) }
        afterShort.withUnsafeBytes { #expect(!coalescer.append($0)) }
        syn.withUnsafeBytes { #expect(!coalescer.start($0)) }
    }

    @Test("a single segment is written as a plain packet with an empty virtio header")
    func singleSegmentIsPlain() throws {
        let a = tcpPacket(isIPv6: false, sequence: 1000, payload: [UInt8](repeating: 1, count: 500))
        let coalescer = TCPCoalescer()
        a.withUnsafeBytes { #expect(coalescer.start($0)) }
        var writes = [[UInt8]]()
        try coalescer.flush { writes.append(Array($0)) }
        let expected: [UInt8] = [UInt8](repeating: 0, count: 10) + a
        #expect(writes == [expected])
    }
}
