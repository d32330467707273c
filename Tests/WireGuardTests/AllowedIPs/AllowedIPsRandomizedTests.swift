import NetworkTypes
import Testing

@testable import WireGuard

/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny, fixed-seed generator so every run of the
/// randomized tests replays the same operations.
private struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        self.state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

private final class RandomPeer: CustomStringConvertible {
    let index: Int
    init(index: Int) { self.index = index }
    var description: String { "peer\(index)" }
}

/// The slow reference: a plain list of canonical prefixes, searched linearly for the longest one that
/// contains the address (wireguard-go's `SlowRouter` idea).
private struct ReferenceTable {
    private(set) var entries: [IPPrefix: RandomPeer] = [:]

    mutating func insert(_ prefix: IPPrefix, value: RandomPeer) { entries[prefix.canonical] = value }
    mutating func remove(_ prefix: IPPrefix) { entries[prefix.canonical] = nil }
    mutating func removeAll(for value: RandomPeer) { entries = entries.filter { $0.value !== value } }

    func lookup(_ address: IPAddress) -> RandomPeer? {
        var best: (length: Int, value: RandomPeer)?
        for (prefix, value) in entries where prefix.contains(address) && prefix.length >= (best?.length ?? -1) {
            best = (prefix.length, value)
        }
        return best?.value
    }

    func prefixes(for value: RandomPeer) -> [IPPrefix] {
        entries.filter { $0.value === value }.keys.sorted()
    }
}

/// Generates addresses that cluster around a few seeds, so prefixes nest and share long common
/// runs of bits, as real allowed-IPs lists do, mixed with uniformly random ones.
private struct AddressGenerator {
    let isV4: Bool
    var random: SplitMix64
    private var seeds: [UInt128] = []

    init(isV4: Bool, seed: UInt64) {
        self.isV4 = isV4
        self.random = SplitMix64(seed: seed)
        for _ in 0..<6 { seeds.append(randomBits()) }
    }

    private var width: Int { isV4 ? 32 : 128 }

    private mutating func randomBits() -> UInt128 {
        let bits = UInt128(random.next()) << 64 | UInt128(random.next())
        return isV4 ? bits & 0xFFFF_FFFF : bits
    }

    mutating func address() -> IPAddress {
        var bits = randomBits()
        if Int.random(in: 0..<4, using: &random) != 0, let seed = seeds.randomElement(using: &random) {
            // Keep a random-length head of a seed and randomize the rest.
            let kept = Int.random(in: 0...width, using: &random)
            let mask: UInt128 = kept == 0 ? 0 : (UInt128.max << (width - kept)) & (isV4 ? 0xFFFF_FFFF : .max)
            bits = (seed & mask) | (bits & ~mask)
        }
        if isV4 {
            return .v4(IPv4Address(value: UInt32(truncatingIfNeeded: bits)))
        }
        return .v6(IPv6Address(high: UInt64(truncatingIfNeeded: bits >> 64), low: UInt64(truncatingIfNeeded: bits)))
    }

    /// A prefix, usually with host bits set, and with lengths biased towards the long end.
    mutating func prefix() throws -> IPPrefix {
        let address = address()
        let length =
            Bool.random(using: &random)
            ? Int.random(in: 0...width, using: &random) : Int.random(in: (width * 3 / 4)...width, using: &random)
        return try #require(IPPrefix(address: address, length: length))
    }
}

@Suite("AllowedIPs against a linear reference")
struct AllowedIPsRandomizedTests {
    @Test(
        "matches the reference over thousands of random inserts, removes and lookups",
        arguments: [(true, 0x5EED_0001), (true, 0x5EED_0002), (false, 0x5EED_0003), (false, 0x5EED_0004)]
            as [(Bool, UInt64)]
    )
    func randomized(isV4: Bool, seed: UInt64) throws {
        var generator = AddressGenerator(isV4: isV4, seed: seed)
        let peers = (0..<8).map(RandomPeer.init)
        let table = AllowedIPs<RandomPeer>()
        var reference = ReferenceTable()
        var inserted: [IPPrefix] = []

        for step in 0..<4000 {
            let roll = Int.random(in: 0..<100, using: &generator.random)
            switch roll {
            case 0..<45:
                let prefix = try generator.prefix()
                let peer = try #require(peers.randomElement(using: &generator.random))
                table.insert(prefix, value: peer)
                reference.insert(prefix, value: peer)
                inserted.append(prefix)
            case 45..<65:
                // Usually remove something that was inserted (possibly already removed), sometimes anything.
                var prefix = try generator.prefix()
                if roll < 60, let existing = inserted.randomElement(using: &generator.random) {
                    prefix = existing
                }
                table.remove(prefix)
                reference.remove(prefix)
            case 65..<66:
                let peer = try #require(peers.randomElement(using: &generator.random))
                table.removeAll(for: peer)
                reference.removeAll(for: peer)
            default:
                for _ in 0..<4 {
                    let address = generator.address()
                    let expected = reference.lookup(address)
                    let found = table.lookup(address)
                    #expect(
                        found === expected,
                        "step \(step): lookup(\(address))"
                    )
                    switch address {
                    case .v4(let v4): #expect(table.lookupV4(v4.value) === expected)
                    case .v6(let v6): #expect(table.lookupV6(high: v6.high, low: v6.low) === expected)
                    }
                }
                // Also probe the exact addresses of stored prefixes, where off-by-one errors show.
                if let prefix = inserted.randomElement(using: &generator.random) {
                    #expect(table.lookup(prefix.address) === reference.lookup(prefix.address), "step \(step)")
                }
            }

            try #require(table.count == reference.entries.count, "step \(step)")
            if step % 200 == 0 {
                try #require(table.invariantViolation() == nil, "step \(step)")
                for peer in peers {
                    #expect(table.prefixes(for: peer) == reference.prefixes(for: peer), "step \(step)")
                }
            }
        }

        // Draining the table through removals leaves it empty and sound.
        for prefix in inserted.reversed() {
            table.remove(prefix)
        }
        #expect(table.count == 0)
        #expect(table.invariantViolation() == nil)
    }
}
