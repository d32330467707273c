public import CryptoPrimitives

/// A deterministic ``RandomSource`` (SplitMix64) so protocol tests replay exactly. Never for real keys.
public final class SeededRandom: RandomSource, @unchecked Sendable {
    private var state: UInt64

    public init(seed: UInt64) { self.state = seed }

    public func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        var i = 0
        while i < buffer.count {
            var word = next()
            withUnsafeBytes(of: &word) { bytes in
                for b in bytes where i < buffer.count {
                    buffer[i] = b
                    i += 1
                }
            }
        }
    }
}
