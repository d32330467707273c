/// Undoing the kernel's TUN offloads (virtio-net header, `IFF_VNET_HDR`): splitting TCP super-packets
/// (TSO) into MTU-sized segments and completing partial checksums, so what we seal is a plain IP packet
/// any WireGuard peer can deliver.
///
/// With TSO on, the kernel hands us one packet of up to 64 KiB per read instead of ~45, which is most of
/// the cost of the outbound path. Pure functions over caller buffers; no allocation.
enum TCPSegmentation {
    /// `struct virtio_net_hdr` (without `num_buffers`): what precedes every packet on an offloading TUN fd.
    struct VirtioHeader {
        static let flagNeedsChecksum: UInt8 = 1
        static let gsoNone: UInt8 = 0
        static let gsoTCPv4: UInt8 = 1
        static let gsoTCPv6: UInt8 = 4
        static let gsoECN: UInt8 = 0x80

        var flags: UInt8
        var gsoType: UInt8
        var headerLength: Int
        var gsoSize: Int
        var checksumStart: Int
        var checksumOffset: Int

        /// The header of a plain packet: no GSO, checksums complete.
        static let none = VirtioHeader(
            flags: 0, gsoType: 0, headerLength: 0, gsoSize: 0, checksumStart: 0, checksumOffset: 0)

        init(flags: UInt8, gsoType: UInt8, headerLength: Int, gsoSize: Int, checksumStart: Int, checksumOffset: Int) {
            self.flags = flags
            self.gsoType = gsoType
            self.headerLength = headerLength
            self.gsoSize = gsoSize
            self.checksumStart = checksumStart
            self.checksumOffset = checksumOffset
        }

        init(_ raw: UnsafeRawBufferPointer) {
            flags = raw[0]
            gsoType = raw[1]
            headerLength = Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
            gsoSize = Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 4, as: UInt16.self)))
            checksumStart = Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 6, as: UInt16.self)))
            checksumOffset = Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt16.self)))
        }
    }

    enum Failure: Error {
        case malformed
        case tooManySegments
    }

    /// Splits `packet` (what followed the virtio header) into segments, calling `emit` with each segment's
    /// destination buffer and expecting back nothing; `nextSlot` supplies a buffer for segment `i` and
    /// `emit(i, length)` records it. Returns the number of segments.
    ///
    /// Non-GSO packets are copied as one segment, with a partial checksum completed if the header asks.
    static func split(
        header: VirtioHeader, packet: UnsafeRawBufferPointer, maxSegments: Int,
        slot: (Int) -> UnsafeMutableRawBufferPointer, emit: (Int, Int) -> Void
    ) throws(Failure) -> Int {
        let gso = header.gsoType & ~VirtioHeader.gsoECN
        if gso == VirtioHeader.gsoNone {
            guard maxSegments >= 1 else { throw .tooManySegments }
            let out = slot(0)
            guard packet.count <= out.count else { throw .malformed }
            out.copyMemory(from: packet)
            if header.flags & VirtioHeader.flagNeedsChecksum != 0 {
                try completeChecksum(UnsafeMutableRawBufferPointer(rebasing: out[0..<packet.count]), header: header)
            }
            emit(0, packet.count)
            return 1
        }
        guard gso == VirtioHeader.gsoTCPv4 || gso == VirtioHeader.gsoTCPv6 else { throw .malformed }
        let isIPv6 = gso == VirtioHeader.gsoTCPv6
        let ipHeaderLength = header.checksumStart
        guard ipHeaderLength >= (isIPv6 ? 40 : 20), packet.count >= ipHeaderLength + 20 else { throw .malformed }
        let tcpHeaderLength = Int(packet[ipHeaderLength + 12] >> 4) * 4
        let headerLength = ipHeaderLength + tcpHeaderLength
        guard tcpHeaderLength >= 20, packet.count >= headerLength, header.gsoSize > 0 else { throw .malformed }
        let payloadLength = packet.count - headerLength
        let count = max(1, (payloadLength + header.gsoSize - 1) / header.gsoSize)
        guard count <= maxSegments else { throw .tooManySegments }

        let firstSequence = UInt32(bigEndian: packet.loadUnaligned(fromByteOffset: ipHeaderLength + 4, as: UInt32.self))
        let ipv4ID = isIPv6 ? 0 : UInt16(bigEndian: packet.loadUnaligned(fromByteOffset: 4, as: UInt16.self))
        let tcpFlags = packet[ipHeaderLength + 13]
        for i in 0..<count {
            let start = headerLength + i * header.gsoSize
            let segmentPayload = min(header.gsoSize, packet.count - start)
            let length = headerLength + segmentPayload
            let out = slot(i)
            guard length <= out.count else { throw .malformed }
            out.copyMemory(from: UnsafeRawBufferPointer(rebasing: packet[0..<headerLength]))
            UnsafeMutableRawBufferPointer(rebasing: out[headerLength..<length]).copyMemory(
                from: UnsafeRawBufferPointer(rebasing: packet[start..<(start + segmentPayload)]))
            if isIPv6 {
                out.storeBytes(of: UInt16(length - 40).bigEndian, toByteOffset: 4, as: UInt16.self)
            } else {
                out.storeBytes(of: UInt16(length).bigEndian, toByteOffset: 2, as: UInt16.self)
                out.storeBytes(
                    of: (ipv4ID &+ UInt16(truncatingIfNeeded: i)).bigEndian, toByteOffset: 4, as: UInt16.self)
                out.storeBytes(of: UInt16(0), toByteOffset: 10, as: UInt16.self)
                let sum = InternetChecksum.add(UnsafeRawBufferPointer(rebasing: out[0..<ipHeaderLength]), to: 0)
                out.storeBytes(of: (~InternetChecksum.fold(sum)).bigEndian, toByteOffset: 10, as: UInt16.self)
            }
            let sequence = firstSequence &+ UInt32(truncatingIfNeeded: i * header.gsoSize)
            out.storeBytes(of: sequence.bigEndian, toByteOffset: ipHeaderLength + 4, as: UInt32.self)
            var flags = tcpFlags
            if i != count - 1 { flags &= ~0x09 }  // FIN and PSH only on the last segment
            if i != 0 { flags &= ~0x80 }  // CWR only on the first
            out[ipHeaderLength + 13] = flags
            out.storeBytes(of: UInt16(0), toByteOffset: ipHeaderLength + 16, as: UInt16.self)
            let tcp = UnsafeRawBufferPointer(rebasing: out[ipHeaderLength..<length])
            var sum = InternetChecksum.pseudoHeaderSum(
                packet: UnsafeRawBufferPointer(out), isIPv6: isIPv6, protocolNumber: 6, length: tcp.count)
            sum = InternetChecksum.add(tcp, to: sum)
            out.storeBytes(
                of: (~InternetChecksum.fold(sum)).bigEndian, toByteOffset: ipHeaderLength + 16, as: UInt16.self)
            emit(i, length)
        }
        return count
    }

    /// Completes a partial checksum: the field at start+offset holds the pseudo-header sum; the result
    /// covers everything from `checksumStart` to the end.
    static func completeChecksum(_ packet: UnsafeMutableRawBufferPointer, header: VirtioHeader) throws(Failure) {
        let field = header.checksumStart + header.checksumOffset
        guard header.checksumStart < packet.count, field + 2 <= packet.count else { throw .malformed }
        let sum = InternetChecksum.add(UnsafeRawBufferPointer(rebasing: packet[header.checksumStart...]), to: 0)
        var result = ~InternetChecksum.fold(sum)
        // UDP transmits a computed zero as all ones (RFC 768); harmless for TCP, whose result is never 0 here.
        if result == 0 { result = 0xffff }
        packet.storeBytes(of: result.bigEndian, toByteOffset: field, as: UInt16.self)
    }
}
