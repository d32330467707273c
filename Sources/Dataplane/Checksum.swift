/// The Internet checksum (RFC 1071) over raw bytes, summed 32 bits at a time into a 64-bit accumulator.
enum InternetChecksum {
    /// Adds `bytes` (big-endian 16-bit words, an odd tail padded with zero) to `sum`, unfolded.
    @inline(__always)
    static func add(_ bytes: UnsafeRawBufferPointer, to sum: UInt64) -> UInt64 {
        var acc = sum
        var i = 0
        let n = bytes.count
        while i + 8 <= n {
            let w = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            acc &+= (w >> 32) &+ (w & 0xffff_ffff)
            i += 8
        }
        while i + 2 <= n {
            acc &+= UInt64(bytes[i]) << 8 | UInt64(bytes[i + 1])
            i += 2
        }
        if i < n { acc &+= UInt64(bytes[i]) << 8 }
        return acc
    }

    /// Folds an accumulated sum to 16 bits (not complemented).
    @inline(__always)
    static func fold(_ sum: UInt64) -> UInt16 {
        var s = sum
        while s >> 16 != 0 { s = (s & 0xffff) &+ (s >> 16) }
        return UInt16(s)
    }

    /// The pseudo-header sum for TCP/UDP over IPv4 or IPv6 (RFC 793 §3.1, RFC 8200 §8.1), taking the
    /// addresses from the IP header at the start of `packet`.
    static func pseudoHeaderSum(packet: UnsafeRawBufferPointer, isIPv6: Bool, protocolNumber: UInt8, length: Int)
        -> UInt64
    {
        let addresses =
            isIPv6
            ? UnsafeRawBufferPointer(rebasing: packet[8..<40]) : UnsafeRawBufferPointer(rebasing: packet[12..<20])
        return add(addresses, to: UInt64(protocolNumber) &+ UInt64(length))
    }
}
