import NetworkTypes
import Routing

/// SplitMix64: a deterministic generator so randomized tests replay exactly from their seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A prefix from text known to be valid.
func prefix(_ text: String) -> IPPrefix {
    guard let prefix = IPPrefix(text) else { preconditionFailure("bad test prefix \(text)") }
    return prefix
}

/// A timestamp `milliseconds` after the origin.
func at(ms milliseconds: UInt64) -> Timestamp {
    Timestamp(nanoseconds: milliseconds * 1_000_000)
}
