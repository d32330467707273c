public import NetworkTypes

/// Probes on ``GatewayController/probePort``: magic (8) · sequence (4, big-endian) · reply-to address
/// family (1: 4 or 6) · address (4 or 16) · port (2). The responder answers with the same bytes to the
/// reply-to endpoint.
public enum ProbeMessage {
    public static let magic = Array("MGPROBE1".utf8)
    /// A step-down request from a member of our group (drills).
    public static let stepDownMagic = Array("MGSTEPDN".utf8)

    public static func encode(sequence: UInt32, replyTo: Endpoint) -> [UInt8] {
        var bytes = magic
        withUnsafeBytes(of: sequence.bigEndian) { bytes += $0 }
        switch replyTo.address {
        case .v4(let a): bytes += [4] + withUnsafeBytes(of: a.value.bigEndian, Array.init)
        case .v6(let a): bytes += [6] + a.bytes
        }
        bytes += [UInt8(replyTo.port >> 8), UInt8(replyTo.port & 0xff)]
        return bytes
    }

    /// The sequence number of a probe or answer, if the bytes are one.
    public static func sequence(of bytes: [UInt8]) -> UInt32? {
        guard bytes.count >= 12, bytes.starts(with: magic) else { return nil }
        return bytes[8..<12].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    /// The reply-to endpoint carried by a probe, if well formed.
    public static func replyAddress(in bytes: [UInt8]) -> Endpoint? {
        guard bytes.count >= 13, bytes.starts(with: magic) else { return nil }
        let length = bytes[12] == 4 ? 4 : (bytes[12] == 6 ? 16 : 0)
        guard length > 0, bytes.count >= 13 + length + 2 else { return nil }
        let raw = Array(bytes[13..<(13 + length)])
        let address: IPAddress
        if length == 4 {
            address = .v4(IPv4Address(raw[0], raw[1], raw[2], raw[3]))
        } else {
            guard let v6 = IPv6Address(bytes: raw) else { return nil }
            address = .v6(v6)
        }
        let port = UInt16(bytes[13 + length]) << 8 | UInt16(bytes[14 + length])
        return Endpoint(address: address, port: port)
    }
}
