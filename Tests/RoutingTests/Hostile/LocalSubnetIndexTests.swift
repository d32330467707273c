import NetworkTypes
import Testing

@testable import Routing

@Suite("RoutePolicy's index of local subnets")
struct LocalSubnetIndexTests {
    @Test("the indexed overlap query answers as a pass over every local subnet would, on random prefixes")
    func matchesBruteForce() {
        var generator = SeededGenerator(seed: 42)
        func randomPrefix() -> IPPrefix {
            let length = Int.random(in: 8...30, using: &generator)
            let value = UInt32(10) << 24 | UInt32.random(in: 0...0x3_FFFF, using: &generator) << 6
            return IPPrefix(address: .v4(IPv4Address(value: value)), length: length)!.canonical
        }
        let locals = Set((0..<300).map { _ in randomPrefix() })
        let policy = RoutePolicy(localSubnets: locals)
        for _ in 0..<3000 {
            let prefix = randomPrefix()
            let expected = locals.filter { $0.overlaps(prefix) }.min()
            #expect(policy.firstLocalSubnet(overlapping: prefix) == expected, "\(prefix)")
        }
        #expect(policy.firstLocalSubnet(overlapping: IPPrefix("fd00::/8")!) == nil, "other family")
    }
}
