public import CryptoPrimitives
public import NetworkTypes

/// An HA hello sent a second way, over the LAN the members share, so that a cut of the WAN between them
/// (which the overlay hellos cross) does not make both primary. The LAN is not the overlay: nothing there
/// authenticated the sender, so each frame carries a MAC under a key only the two members can make —
/// derived from their static-static X25519 value, as WireGuard's handshake does, but under our own label.
/// A recorded frame stays valid, so the controller takes a LAN hello only if its sequence is newer than any
/// hello heard from that member on either path (a replay could otherwise keep a dead primary alive).
///
/// Frame: `MGLH` ‖ version 1 ‖ sender overlay address (16 bytes, IPv4 mapped) ‖ receiver overlay address
/// (16 bytes) ‖ the hello as on the overlay ‖ 16-byte keyed BLAKE2s of everything before.
public enum LANHello {
    static let magic = Array("MGLH".utf8)
    static let version: UInt8 = 1
    static let label = Array("meshgate lan hello v1".utf8)
    static let headerSize = 4 + 1 + 16 + 16
    static let macSize = 16
    /// The largest frame: a hello is a few dozen bytes.
    public static let maximumSize = 512

    /// The key two members share: HASH(label ‖ DH(our private, their public)); nil for a low-order key.
    public static func pairKey(privateKey: Key32, peerPublicKey: Key32) -> Key32? {
        guard let shared = X25519.sharedSecret(privateKey: privateKey, publicKey: peerPublicKey) else { return nil }
        return BLAKE2s.hash(label, shared.bytes)
    }

    /// The frame for `hello` from `sender` to `receiver` (overlay addresses), under their pair key.
    public static func seal(_ hello: [UInt8], from sender: IPAddress, to receiver: IPAddress, key: Key32) -> [UInt8] {
        var frame = magic + [version] + sender.mappedBytes + receiver.mappedBytes + hello
        frame += BLAKE2s.mac(key: key.bytes, input: frame)
        return frame
    }

    /// The sender and the hello of a frame addressed to `receiver`, if its MAC verifies under the key
    /// `key(sender)` gives (nil for a sender that is not a member of our group).
    public static func open(_ frame: [UInt8], receiver: IPAddress, key: (IPAddress) -> Key32?)
        -> (sender: IPAddress, hello: [UInt8])?
    {
        guard frame.count > headerSize + macSize, frame.count <= maximumSize, frame.starts(with: magic),
            frame[4] == version, Array(frame[21..<37]) == receiver.mappedBytes,
            let sender = IPAddress(mappedBytes: Array(frame[5..<21])), let pairKey = key(sender)
        else { return nil }
        let body = Array(frame[..<(frame.count - macSize)])
        let expected = BLAKE2s.mac(key: pairKey.bytes, input: body)
        guard SecureMemory.constantTimeEquals(expected, Array(frame[(frame.count - macSize)...])) else { return nil }
        return (sender, Array(frame[headerSize..<(frame.count - macSize)]))
    }
}

extension IPAddress {
    /// 16 bytes: an IPv6 address as it is, an IPv4 address as ::ffff:a.b.c.d.
    var mappedBytes: [UInt8] {
        switch self {
        case .v4(let a):
            [UInt8](repeating: 0, count: 10) + [0xff, 0xff] + withUnsafeBytes(of: a.value.bigEndian) { Array($0) }
        case .v6(let a):
            withUnsafeBytes(of: a.high.bigEndian) { Array($0) } + withUnsafeBytes(of: a.low.bigEndian) { Array($0) }
        }
    }

    init?(mappedBytes bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            self = .v4(IPv4Address(bytes[12], bytes[13], bytes[14], bytes[15]))
            return
        }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for i in 0..<8 { high = high << 8 | UInt64(bytes[i]) }
        for i in 8..<16 { low = low << 8 | UInt64(bytes[i]) }
        self = .v6(IPv6Address(high: high, low: low))
    }
}
