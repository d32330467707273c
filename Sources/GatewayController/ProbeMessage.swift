public import NetworkTypes

/// Probes on ``GatewayController/probePort``: magic (8) · sequence (4, big-endian) · reply-to address
/// family (1: 4 or 6) · address (4 or 16) · port (2). The responder answers with the same bytes to the
/// reply-to endpoint.
public enum ProbeMessage {
    public static let magic = Array("MGPROBE1".utf8)
    /// A step-down request from a member of our group (drills).
    public static let stepDownMagic = Array("MGSTEPDN".utf8)

    public static func encode(sequence: UInt32, replyTo: Endpoint) -> [UInt8] {
        magic + ProbePortBytes.be32(sequence) + ProbePortBytes.address(replyTo.address)
            + [UInt8(replyTo.port >> 8), UInt8(replyTo.port & 0xff)]
    }

    /// The sequence number of a probe or answer, if the bytes are one.
    public static func sequence(of bytes: [UInt8]) -> UInt32? {
        guard bytes.count >= 12, bytes.starts(with: magic) else { return nil }
        return bytes[8..<12].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    /// The reply-to endpoint carried by a probe, if well formed.
    public static func replyAddress(in bytes: [UInt8]) -> Endpoint? {
        guard bytes.starts(with: magic) else { return nil }
        var reader = ProbePortBytes.Reader(bytes: bytes, offset: magic.count + 4)
        guard let address = reader.address(), let high = reader.u8(), let low = reader.u8() else { return nil }
        return Endpoint(address: address, port: UInt16(high) << 8 | UInt16(low))
    }
}
