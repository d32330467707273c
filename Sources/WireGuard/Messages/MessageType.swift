/// The four WireGuard message types and their fixed sizes (whitepaper §5.4).
///
/// Every message starts with a one-byte type and three reserved zero bytes, read as a little-endian
/// 32-bit word. Parsing is by (type, length) first, before any cryptography.
public enum MessageType: UInt32, Sendable {
    case handshakeInitiation = 1
    case handshakeResponse = 2
    case cookieReply = 3
    case transportData = 4

    /// Reads the type word of `datagram`; nil if it is too short or not one of the four types.
    static func classify(_ datagram: UnsafeRawBufferPointer) -> MessageType? {
        guard datagram.count >= 4 else { return nil }
        return MessageType(rawValue: UInt32(littleEndian: datagram.loadUnaligned(as: UInt32.self)))
    }
}

/// Byte layout of `HandshakeInitiation` (148 bytes).
enum HandshakeInitiationLayout {
    static let size = 148
    static let senderIndex = 4
    static let unencryptedEphemeral = 8
    static let encryptedStatic = 40  // 32 + 16 tag
    static let encryptedTimestamp = 88  // 12 + 16 tag
    static let mac1 = 116
    static let mac2 = 132
}

/// Byte layout of `HandshakeResponse` (92 bytes).
enum HandshakeResponseLayout {
    static let size = 92
    static let senderIndex = 4
    static let receiverIndex = 8
    static let unencryptedEphemeral = 12
    static let encryptedNothing = 44  // 0 + 16 tag
    static let mac1 = 60
    static let mac2 = 76
}

/// Byte layout of `CookieReply` (64 bytes).
enum CookieReplyLayout {
    static let size = 64
    static let receiverIndex = 4
    static let nonce = 8  // 24 bytes
    static let encryptedCookie = 32  // 16 + 16 tag
}

/// Byte layout of `TransportData`: a 16-byte header, then the sealed, padded packet and its tag.
public enum TransportDataLayout {
    /// Type word, receiver index and counter.
    public static let headerSize = 16
    static let receiverIndex = 4
    static let counter = 8
    /// The smallest valid message: a header and the tag of an empty (keepalive) payload.
    public static let minimumSize = headerSize + 16
    /// Bytes a sealed packet adds beyond the padded plaintext.
    public static let overhead = headerSize + 16
}

extension UnsafeRawBufferPointer {
    @inline(__always)
    func loadLittleEndianUInt32(at offset: Int) -> UInt32 {
        UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always)
    func loadLittleEndianUInt64(at offset: Int) -> UInt64 {
        UInt64(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}

extension UnsafeMutableRawBufferPointer {
    @inline(__always)
    func storeLittleEndian(_ value: UInt32, at offset: Int) {
        storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self)
    }

    @inline(__always)
    func storeLittleEndian(_ value: UInt64, at offset: Int) {
        storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt64.self)
    }
}

extension Array where Element == UInt8 {
    mutating func appendLittleEndian(_ value: UInt32) {
        for i in 0..<4 { append(UInt8(truncatingIfNeeded: value >> (8 * UInt32(i)))) }
    }

    func littleEndianUInt32(at offset: Int) -> UInt32 {
        var v: UInt32 = 0
        for i in (0..<4).reversed() { v = v << 8 | UInt32(self[offset + i]) }
        return v
    }
}
