internal import CLibCrypto

/// Where key generation, ephemeral keys, sender indices and jitter take their randomness from.
///
/// The protocol core receives one as an argument, so tests can substitute a seeded generator.
public protocol RandomSource: AnyObject, Sendable {
    /// Fills `buffer` with random bytes.
    func fill(_ buffer: UnsafeMutableRawBufferPointer)
}

extension RandomSource {
    /// A random 32-bit value.
    public func nextUInt32() -> UInt32 {
        var v: UInt32 = 0
        withUnsafeMutableBytes(of: &v) { fill($0) }
        return v
    }

    /// A random 64-bit value.
    public func nextUInt64() -> UInt64 {
        var v: UInt64 = 0
        withUnsafeMutableBytes(of: &v) { fill($0) }
        return v
    }

    /// 32 random bytes.
    public func nextKey() -> Key32 {
        Key32(filling: { fill($0) })
    }
}

/// The operating system's CSPRNG through OpenSSL's `RAND_bytes`. Safe for concurrent use.
public final class SystemRandom: RandomSource {
    public init() {}

    public func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        let ok = RAND_bytes(base.assumingMemoryBound(to: UInt8.self), Int32(buffer.count))
        // Without randomness no key is safe; this is not input-driven, so stop loudly.
        precondition(ok == 1, "RAND_bytes failed: the system random generator is unavailable")
    }
}
