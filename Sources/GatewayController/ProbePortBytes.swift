public import NetworkTypes

/// The fields the probe-port messages share (``ProbeMessage``, ``ExplainMessage``, ``BurstMessage``): big-endian
/// integers and an address as a family byte (`4` or `6`) and 4 or 16 bytes, read with every length checked.
enum ProbePortBytes {
    static func be32(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.bigEndian, Array.init) }

    static func address(_ address: IPAddress) -> [UInt8] {
        switch address {
        case .v4(let a): [4] + be32(a.value)
        case .v6(let a): [6] + a.bytes
        }
    }

    struct Reader {
        let bytes: [UInt8]
        var offset: Int

        mutating func u8() -> UInt8? {
            guard offset < bytes.count else { return nil }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func u32() -> UInt32? {
            guard bytes.count - offset >= 4 else { return nil }
            defer { offset += 4 }
            return bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
        }

        mutating func address() -> IPAddress? {
            guard let family = u8() else { return nil }
            switch family {
            case 4: return u32().map { .v4(IPv4Address(value: $0)) }
            case 6:
                guard bytes.count - offset >= 16, let v6 = IPv6Address(bytes: Array(bytes[offset..<offset + 16]))
                else { return nil }
                offset += 16
                return .v6(v6)
            default: return nil
            }
        }

        /// A text of a 2-byte length and UTF-8, at most `maximumText` bytes.
        mutating func text(maximumText: Int) -> String? {
            guard let high = u8(), let low = u8() else { return nil }
            let length = Int(high) << 8 | Int(low)
            guard length <= maximumText, bytes.count - offset >= length else { return nil }
            defer { offset += length }
            return String(decoding: bytes[offset..<offset + length], as: UTF8.self)
        }
    }
}
