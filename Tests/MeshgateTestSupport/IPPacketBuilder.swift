public import NetworkTypes

/// Builds well-formed IPv4 and IPv6 packets (UDP datagrams and ICMP echo requests) with correct header and
/// transport checksums, for feeding an engine or a data plane in tests.
///
/// Both addresses of one packet must be of the same family. Nothing here allocates beyond the returned array.
public enum IPPacketBuilder {
    /// IANA protocol numbers used here.
    public static let protocolICMP: UInt8 = 1
    public static let protocolUDP: UInt8 = 17
    public static let protocolICMPv6: UInt8 = 58

    /// A UDP datagram from `source` to `destination` carrying `payload`.
    public static func udp(
        from source: IPAddress, to destination: IPAddress, sourcePort: UInt16 = 40_000, destinationPort: UInt16 = 7,
        payload: [UInt8], hopLimit: UInt8 = 64, identification: UInt16 = 0
    ) -> [UInt8] {
        var segment = [UInt8]()
        segment.reserveCapacity(8 + payload.count)
        segment.appendBigEndian(sourcePort)
        segment.appendBigEndian(destinationPort)
        segment.appendBigEndian(UInt16(truncatingIfNeeded: 8 + payload.count))
        segment.appendBigEndian(UInt16(0))
        segment += payload
        var checksum = internetChecksum(
            segment, initial: pseudoHeaderSum(source, destination, protocolNumber: protocolUDP, length: segment.count))
        // RFC 768: a computed zero is sent as all ones (zero means "no checksum" over IPv4).
        if checksum == 0 { checksum = 0xffff }
        segment[6] = UInt8(checksum >> 8)
        segment[7] = UInt8(checksum & 0xff)
        return wrap(
            segment, from: source, to: destination, protocolNumber: protocolUDP, hopLimit: hopLimit,
            identification: identification)
    }

    /// An ICMP (IPv4) or ICMPv6 (IPv6) echo request.
    public static func icmpEcho(
        from source: IPAddress, to destination: IPAddress, identifier: UInt16, sequence: UInt16, payload: [UInt8],
        hopLimit: UInt8 = 64
    ) -> [UInt8] {
        let isV4 = source.isV4
        var message: [UInt8] = [isV4 ? 8 : 128, 0, 0, 0]
        message.appendBigEndian(identifier)
        message.appendBigEndian(sequence)
        message += payload
        let protocolNumber = isV4 ? protocolICMP : protocolICMPv6
        // ICMPv4 sums the message alone; ICMPv6 includes the pseudo-header (RFC 4443 §2.3).
        let initial =
            isV4 ? 0 : pseudoHeaderSum(source, destination, protocolNumber: protocolNumber, length: message.count)
        let checksum = internetChecksum(message, initial: initial)
        message[2] = UInt8(checksum >> 8)
        message[3] = UInt8(checksum & 0xff)
        return wrap(
            message, from: source, to: destination, protocolNumber: protocolNumber, hopLimit: hopLimit,
            identification: 0)
    }

    /// The RFC 1071 Internet checksum of `bytes`, starting from a partial one's-complement sum.
    public static func internetChecksum(_ bytes: [UInt8], initial: UInt32 = 0) -> UInt16 {
        ~fold(onesComplementSum(bytes, initial: initial))
    }

    /// True if the packet's IPv4 header checksum (if any) and its UDP, ICMP or ICMPv6 checksum verify.
    public static func hasValidChecksums(_ packet: [UInt8]) -> Bool {
        guard let first = packet.first else { return false }
        let source: IPAddress
        let destination: IPAddress
        let protocolNumber: UInt8
        let transport: [UInt8]
        switch first >> 4 {
        case 4:
            let headerLength = Int(first & 0x0f) * 4
            guard headerLength >= 20, packet.count >= headerLength else { return false }
            guard fold(onesComplementSum(Array(packet[0..<headerLength]))) == 0xffff else { return false }
            let total = Int(packet[2]) << 8 | Int(packet[3])
            guard total <= packet.count, total >= headerLength else { return false }
            source = .v4(IPv4Address(packet[12], packet[13], packet[14], packet[15]))
            destination = .v4(IPv4Address(packet[16], packet[17], packet[18], packet[19]))
            protocolNumber = packet[9]
            transport = Array(packet[headerLength..<total])
        case 6:
            guard packet.count >= 40 else { return false }
            let total = 40 + (Int(packet[4]) << 8 | Int(packet[5]))
            guard total <= packet.count, let s = IPv6Address(bytes: packet[8..<24]),
                let d = IPv6Address(bytes: packet[24..<40])
            else { return false }
            source = .v6(s)
            destination = .v6(d)
            protocolNumber = packet[6]
            transport = Array(packet[40..<total])
        default:
            return false
        }
        let initial: UInt32
        switch protocolNumber {
        case protocolUDP, protocolICMPv6:
            initial = pseudoHeaderSum(source, destination, protocolNumber: protocolNumber, length: transport.count)
        case protocolICMP:
            initial = 0
        default:
            return true
        }
        return fold(onesComplementSum(transport, initial: initial)) == 0xffff
    }

    // MARK: - Internals

    private static func wrap(
        _ transport: [UInt8], from source: IPAddress, to destination: IPAddress, protocolNumber: UInt8,
        hopLimit: UInt8, identification: UInt16
    ) -> [UInt8] {
        switch (source, destination) {
        case (.v4(let s), .v4(let d)):
            var header = [UInt8]()
            header.reserveCapacity(20 + transport.count)
            header += [0x45, 0]
            header.appendBigEndian(UInt16(truncatingIfNeeded: 20 + transport.count))
            header.appendBigEndian(identification)
            header.appendBigEndian(UInt16(0x4000))  // don't fragment
            header += [hopLimit, protocolNumber, 0, 0]
            header.appendBigEndian(s.value)
            header.appendBigEndian(d.value)
            let checksum = internetChecksum(header)
            header[10] = UInt8(checksum >> 8)
            header[11] = UInt8(checksum & 0xff)
            return header + transport
        case (.v6(let s), .v6(let d)):
            var header = [UInt8]()
            header.reserveCapacity(40 + transport.count)
            header += [0x60, 0, 0, 0]
            header.appendBigEndian(UInt16(truncatingIfNeeded: transport.count))
            header += [protocolNumber, hopLimit]
            header += s.bytes
            header += d.bytes
            return header + transport
        default:
            preconditionFailure("IPPacketBuilder: source and destination must be of the same family")
        }
    }

    /// The one's-complement sum of the IPv4 or IPv6 pseudo-header.
    private static func pseudoHeaderSum(
        _ source: IPAddress, _ destination: IPAddress, protocolNumber: UInt8, length: Int
    ) -> UInt32 {
        var pseudo = [UInt8]()
        switch (source, destination) {
        case (.v4(let s), .v4(let d)):
            pseudo.appendBigEndian(s.value)
            pseudo.appendBigEndian(d.value)
            pseudo += [0, protocolNumber]
            pseudo.appendBigEndian(UInt16(truncatingIfNeeded: length))
        case (.v6(let s), .v6(let d)):
            pseudo += s.bytes
            pseudo += d.bytes
            pseudo.appendBigEndian(UInt32(truncatingIfNeeded: length))
            pseudo += [0, 0, 0, protocolNumber]
        default:
            preconditionFailure("IPPacketBuilder: source and destination must be of the same family")
        }
        return onesComplementSum(pseudo)
    }

    private static func onesComplementSum(_ bytes: [UInt8], initial: UInt32 = 0) -> UInt32 {
        var sum = initial
        var i = 0
        while i + 1 < bytes.count {
            sum = foldOnce(sum + (UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])))
            i += 2
        }
        if i < bytes.count { sum = foldOnce(sum + (UInt32(bytes[i]) << 8)) }
        return sum
    }

    private static func foldOnce(_ sum: UInt32) -> UInt32 { (sum & 0xffff) + (sum >> 16) }

    private static func fold(_ sum: UInt32) -> UInt16 {
        var s = sum
        while s > 0xffff { s = foldOnce(s) }
        return UInt16(s)
    }
}

extension Array where Element == UInt8 {
    fileprivate mutating func appendBigEndian(_ value: UInt16) {
        append(UInt8(value >> 8))
        append(UInt8(value & 0xff))
    }

    fileprivate mutating func appendBigEndian(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }
}
