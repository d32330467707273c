/// Reads the few IP header fields cryptokey routing needs from a tunnelled packet, without copying.
enum InnerPacket {
    /// The packet's length from its own header (IPv4 total length, IPv6 40 + payload length), or nil if
    /// the header is malformed or claims more bytes than are present (the rest is padding).
    static func length(of packet: UnsafeRawBufferPointer) -> Int? {
        guard let first = packet.first else { return nil }
        switch first >> 4 {
        case 4:
            guard packet.count >= 20 else { return nil }
            let total = Int(packet[2]) << 8 | Int(packet[3])
            let headerLength = Int(first & 0x0f) * 4
            guard headerLength >= 20, total >= headerLength, total <= packet.count else { return nil }
            return total
        case 6:
            guard packet.count >= 40 else { return nil }
            let total = 40 + (Int(packet[4]) << 8 | Int(packet[5]))
            guard total <= packet.count else { return nil }
            return total
        default:
            return nil
        }
    }

    static func sourcePeer<V: AnyObject>(of packet: UnsafeRawBufferPointer, in table: AllowedIPs<V>) -> V? {
        lookup(packet, v4Offset: 12, v6Offset: 8, in: table)
    }

    static func destinationPeer<V: AnyObject>(of packet: UnsafeRawBufferPointer, in table: AllowedIPs<V>) -> V? {
        lookup(packet, v4Offset: 16, v6Offset: 24, in: table)
    }

    private static func lookup<V: AnyObject>(
        _ packet: UnsafeRawBufferPointer, v4Offset: Int, v6Offset: Int, in table: AllowedIPs<V>
    ) -> V? {
        guard let first = packet.first else { return nil }
        switch first >> 4 {
        case 4 where packet.count >= 20:
            return table.lookupV4(UInt32(bigEndian: packet.loadUnaligned(fromByteOffset: v4Offset, as: UInt32.self)))
        case 6 where packet.count >= 40:
            let high = UInt64(bigEndian: packet.loadUnaligned(fromByteOffset: v6Offset, as: UInt64.self))
            let low = UInt64(bigEndian: packet.loadUnaligned(fromByteOffset: v6Offset + 8, as: UInt64.self))
            return table.lookupV6(high: high, low: low)
        default:
            return nil
        }
    }
}
