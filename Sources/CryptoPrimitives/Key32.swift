/// A 32-byte value: a Curve25519 key, a symmetric key, a BLAKE2s-256 digest or a chaining key.
///
/// Stored inline (no heap), so copying one is cheap and allocation-free. Equality is constant-time.
/// `description` never prints the bytes; use ``base64`` or ``hex`` deliberately.
public struct Key32: Sendable, Hashable, CustomStringConvertible {
    /// Byte length of every key, hash and chaining key in WireGuard.
    public static let byteCount = 32

    @usableFromInline
    internal var storage: (UInt64, UInt64, UInt64, UInt64)

    /// The all-zero value (WireGuard treats an all-zero private key or preshared key as "none").
    public static let zero = Key32(storage: (0, 0, 0, 0))

    @usableFromInline
    internal init(storage: (UInt64, UInt64, UInt64, UInt64)) {
        self.storage = storage
    }

    /// Copies exactly 32 bytes; returns nil for any other length.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Key32.byteCount else { return nil }
        self = .zero
        withUnsafeMutableBytes { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
    }

    /// Copies the first 32 bytes of `raw`; the caller guarantees the length.
    public init(copying raw: UnsafeRawBufferPointer) {
        precondition(raw.count >= Key32.byteCount, "Key32 needs 32 bytes")
        self = .zero
        withUnsafeMutableBytes { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<Key32.byteCount]))
        }
    }

    /// Builds a key by letting `body` fill 32 zeroed bytes.
    public init(filling body: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        self = .zero
        try withUnsafeMutableBytes(body)
    }

    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: storage, body)
    }

    @inlinable
    public mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeMutableBytes(of: &storage, body)
    }

    /// The 32 bytes as an array (allocates; not for the packet path).
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// True when every byte is zero (checked without an early exit).
    public var isZero: Bool {
        (storage.0 | storage.1 | storage.2 | storage.3) == 0
    }

    /// Overwrites the bytes with zeros in a way the optimiser may not elide.
    public mutating func wipe() {
        withUnsafeMutableBytes { SecureMemory.cleanse($0) }
    }

    public static func == (lhs: Key32, rhs: Key32) -> Bool {
        ((lhs.storage.0 ^ rhs.storage.0) | (lhs.storage.1 ^ rhs.storage.1) | (lhs.storage.2 ^ rhs.storage.2)
            | (lhs.storage.3 ^ rhs.storage.3)) == 0
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage.0)
        hasher.combine(storage.1)
        hasher.combine(storage.2)
        hasher.combine(storage.3)
    }

    public var description: String { "Key32(<redacted>)" }
}

// MARK: - Text encodings

extension Key32 {
    /// Standard base64 with padding, as `wg genkey` prints (44 characters).
    public var base64: String { Base64.encode(bytes) }

    /// Parses the 44-character base64 form used by `wg` and config files.
    public init?(base64 text: String) {
        guard let decoded = Base64.decode(text), let key = Key32(bytes: decoded) else { return nil }
        self = key
    }

    /// Lower-case hex (64 characters), as the WireGuard UAPI uses.
    public var hex: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xf)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses exactly 64 hex digits (either case).
    public init?(hex text: String) {
        let utf8 = Array(text.utf8)
        guard utf8.count == 64 else { return nil }
        var out = [UInt8](repeating: 0, count: 32)
        for i in 0..<32 {
            guard let hi = Key32.nibble(utf8[2 * i]), let lo = Key32.nibble(utf8[2 * i + 1]) else { return nil }
            out[i] = hi << 4 | lo
        }
        self.init(bytes: out)
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// `peer(AbCd…WxYz)`: the short, public-key-only form wireguard-go logs, for public keys only.
    public var shortIdentifier: String {
        let b = base64
        return "peer(\(b.prefix(4))…\(b.dropLast().suffix(4)))"
    }
}

// Reflection (`dump`, debuggers) would otherwise print the stored words of a private key.
extension Key32: CustomReflectable {
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
